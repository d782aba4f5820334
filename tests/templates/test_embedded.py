"""Templates against the simulator mounted inside inboxd, as `inboxd serve` runs it by default:
the sandbox's `hello_world` is synced in and sent to a number that never wrote."""

from __future__ import annotations

import httpx

from inboxd.config import Settings
from inboxd.domain.scopes import Scope
from inboxd.simulator import EMBEDDED_GRAPH_PREFIX, Simulator, embedded_router
from inboxd.store import accounts as accounts_store
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from tests.simulator.support import quick_config
from tests.support.server import start_server
from tests.support.wa import API


async def test_sync_then_send_hello_world(settings: Settings, db: Database) -> None:
    sim = Simulator(quick_config())
    async with start_server(settings, db, extra_routers=[embedded_router(sim)]) as server:
        sim.config.callback_url = f"{server.url}/webhooks/whatsapp"
        async with db.write() as conn:
            account = await accounts_store.add_whatsapp_account(
                conn, account_id=sim.config.display_phone_number, phone_number_id=sim.config.phone_number_id,
                access_token=sim.config.access_token, app_secret=sim.config.app_secret, verify_token="v",
                graph_url=server.url + EMBEDDED_GRAPH_PREFIX, waba_id=sim.config.waba_id,
            )
            token, _ = await tokens_store.create_token(conn, "t", list(Scope))
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
            r = await http.get(f"{API}/whatsapp/templates", params={"accountId": account.account_id, "sync": "true"})
            assert r.status_code == 200, r.text
            assert [t["name"] for t in r.json()] == ["hello_world"]
            r = await http.post(f"{API}/whatsapp/templates/send", json={"templateName": "hello_world", "to": "+1 650 555 1234"})
            assert r.status_code == 200, r.text
            assert r.json()["text"].startswith("Welcome and congratulations!!")
        [sent] = sim.contacts.by_id["16505551234"].sent
        assert sent.payload["template"] == {"name": "hello_world", "language": {"code": "en_US"}, "components": []}
