"""The simulator mounted inside an inboxd app (as `inboxd serve` mounts it): Graph routes under
/simulator/graph keep Graph's error shapes inside inboxd's error mapper, the control API is in
inboxd's OpenAPI, and the loop through inboxd's own webhook receiver works. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from inboxd.config import Settings
from inboxd.simulator import EMBEDDED_GRAPH_PREFIX, Simulator, embedded_router
from inboxd.store import accounts as accounts_store
from inboxd.store.db import Database
from tests.simulator.support import eventually, quick_config
from tests.simulator.test_graph_routes import DANA, graph_error, text
from tests.support.server import LiveServer, start_server
from tests.support.webhooks import wait_processed


@pytest.fixture
async def mounted(settings: Settings, db: Database) -> AsyncIterator[tuple[LiveServer, Simulator]]:
    sim = Simulator(quick_config())
    async with start_server(settings, db, extra_routers=[embedded_router(sim)]) as server:
        sim.config.callback_url = f"{server.url}/webhooks/whatsapp"
        async with db.write() as conn:
            await accounts_store.add_whatsapp_account(
                conn, account_id=sim.config.display_phone_number, phone_number_id=sim.config.phone_number_id,
                access_token=sim.config.access_token, app_secret=sim.config.app_secret, verify_token="v",
                graph_url=server.url + EMBEDDED_GRAPH_PREFIX, waba_id=sim.config.waba_id,
            )
        yield server, sim


async def test_graph_errors_keep_their_shape_inside_inboxd(mounted: tuple[LiveServer, Simulator]) -> None:
    server, sim = mounted
    url = f"{server.url}{EMBEDDED_GRAPH_PREFIX}/v23.0/{sim.config.phone_number_id}/messages"
    async with httpx.AsyncClient() as http:
        r = await http.post(url, json=text(), headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401 and graph_error(r)["code"] == 190
        auth = {"Authorization": f"Bearer {sim.config.access_token}"}
        r = await http.post(url, content=b"{", headers=auth)
        assert r.status_code == 400 and graph_error(r)["code"] == 100
        r = await http.post(url, json={**text(), "to": None}, headers=auth)
        assert graph_error(r)["code"] == 100 and "to" in graph_error(r)["message"]
        r = await http.post(url, json=text(), headers=auth)
        assert graph_error(r)["code"] == 131047
        # control-API errors are inboxd's
        r = await http.post(f"{server.url}/simulator/inbound", json={"from": DANA})
        assert r.status_code == 400 and r.json()["success"] is False


async def test_a_user_message_goes_through_inboxds_receiver(mounted: tuple[LiveServer, Simulator], db: Database) -> None:
    server, sim = mounted
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post("/simulator/inbound", json={"from": DANA, "name": "Dana", "text": {"body": "Hi"}})
        assert r.status_code == 200, r.text
        await eventually(lambda: sim.webhooks.stats()["recent"])
        assert sim.webhooks.stats()["recent"][0]["http_status"] == 200
    await wait_processed(db)


async def test_the_control_api_is_in_inboxds_openapi(mounted: tuple[LiveServer, Simulator]) -> None:
    server, _ = mounted
    async with httpx.AsyncClient(base_url=server.url) as http:
        paths = (await http.get("/server/api/v2/openapi.json")).json()["paths"]
    control = {p: ops for p, ops in paths.items() if p.startswith("/simulator")}
    assert "/simulator/inbound" in control and "/simulator/contacts/{wa_id}/sent" in control
    assert not any(p.startswith(EMBEDDED_GRAPH_PREFIX) for p in control)
    assert all(op.get("summary") and op.get("tags") == ["simulator: control"] for ops in control.values()
               for op in ops.values())
