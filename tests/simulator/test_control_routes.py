"""The control API: users writing (every type), what was sent to them, faults, reset,
configuration, and its place in the OpenAPI document."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.simulator.support import PNG, Receiver, RunningSimulator, eventually
from tests.simulator.test_graph_routes import DANA, graph_error, text
from tests.simulator.test_schema import buttons, list_message


async def test_a_button_reply_takes_its_title_from_the_message_that_offered_it(
    simulator: RunningSimulator, receiver: Receiver
) -> None:
    await simulator.user_writes(DANA)
    offered = (await simulator.send({**buttons("Yes please", "No"), "to": DANA})).json()["messages"][0]["id"]
    body = {"from": DANA, "interactive": {"type": "button_reply", "button_reply": {"id": "b0"}}}
    result = await simulator.inbound(**body)
    assert result["message"]["interactive"]["button_reply"] == {"id": "b0", "title": "Yes please"}
    assert result["message"]["context"] == {"from": simulator.config.display_phone_number, "id": offered}
    await simulator.send({**list_message(2), "to": DANA})
    result = await simulator.inbound(**{"from": DANA, "interactive": {"type": "list_reply", "list_reply": {"id": "s0r1"}}})
    assert result["message"]["interactive"]["list_reply"]["title"] == "Row 0.1"


async def test_sent_lists_the_exact_payloads_in_order(simulator: RunningSimulator) -> None:
    await simulator.user_writes(DANA)
    payloads = [text(body="one"), {**buttons("A", "B"), "to": DANA}, text(body="three")]
    ids = [(await simulator.send(p)).json()["messages"][0]["id"] for p in payloads]
    sent = await simulator.sent_to(DANA)
    assert [m["payload"] for m in sent] == payloads and [m["id"] for m in sent] == ids
    after = (await simulator.control.get(f"/simulator/contacts/{DANA}/sent", params={"after": ids[0]})).json()
    assert [m["id"] for m in after["data"]] == ids[1:]
    assert await simulator.sent_to("15550000000") == []


async def test_contacts_and_their_windows(simulator: RunningSimulator) -> None:
    await simulator.user_writes(DANA, name="Dana")
    contacts = (await simulator.control.get("/simulator/contacts")).json()["data"]
    [dana] = [c for c in contacts if c["wa_id"] == DANA]
    assert dana["name"] == "Dana" and dana["window_open"] is True and dana["window_expires_at"] > 0
    assert (await simulator.control.get("/simulator/contacts/15550000000")).status_code == 404
    r = await simulator.control.put("/simulator/contacts/15550000000/window", json={"open": True})
    assert r.json()["window_open"] is True
    assert (await simulator.send(text(to="15550000000"))).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"from": DANA}, {"from": DANA, "text": {"body": "a"}, "location": {"latitude": 1, "longitude": 2}},
     {"from": "not-a-number", "text": {"body": "a"}}, {"from": DANA, "image": {"data": "%%%"}},
     {"from": DANA, "image": {"media_id": "123"}}, {"from": DANA, "image": {}}],
)
async def test_an_invalid_inbound_request_is_400(simulator: RunningSimulator, body: dict[str, Any]) -> None:
    r = await simulator.control.post("/simulator/inbound", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False


async def test_faults_for_the_next_n_calls(simulator: RunningSimulator) -> None:
    await simulator.user_writes(DANA)
    add = simulator.control.post
    await add("/simulator/faults", json={"kind": "http_500", "count": 2})
    await add("/simulator/faults", json={"kind": "http_503"})
    await add("/simulator/faults", json={"kind": "graph_error", "code": 131000, "http_status": 500})
    await add("/simulator/faults", json={"kind": "graph_error", "code": 130429})
    got = [(r.status_code, graph_error(r)["code"]) for r in [await simulator.send(text()) for _ in range(5)]]
    assert got == [(500, 131000), (500, 131000), (503, 2), (500, 131000), (400, 130429)]
    assert (await simulator.send(text())).status_code == 200
    assert (await simulator.control.get("/simulator/faults")).json()["data"] == []


async def test_a_fault_for_one_recipient_leaves_the_others_alone(simulator: RunningSimulator) -> None:
    other = "972500000002"
    await simulator.user_writes(DANA)
    await simulator.user_writes(other)
    await simulator.control.post("/simulator/faults", json={"kind": "http_503", "recipient": other, "count": 1})
    assert (await simulator.send(text())).status_code == 200
    assert (await simulator.send(text(to=other))).status_code == 503
    assert (await simulator.send(text(to=other))).status_code == 200


async def test_a_timeout_fault_hangs_then_fails_or_succeeds_late(simulator: RunningSimulator) -> None:
    await simulator.user_writes(DANA)
    await simulator.control.post("/simulator/faults", json={"kind": "timeout", "seconds": 2})
    with pytest.raises(httpx.ReadTimeout):
        await simulator.send(text(), timeout=0.5)
    await simulator.control.post("/simulator/faults",
                                 json={"kind": "timeout", "seconds": 0.3, "accept_after_timeout": True})
    r = await simulator.send(text(body="late"))
    assert r.status_code == 200
    await asyncio.sleep(1.6)  # the first one answers 504 to nobody, and was not accepted
    assert [m["payload"]["text"]["body"] for m in await simulator.sent_to(DANA)] == ["late"]


async def test_a_failed_status_fault(simulator: RunningSimulator, receiver: Receiver) -> None:
    await simulator.user_writes(DANA)
    await simulator.control.post("/simulator/faults", json={"kind": "failed_status", "code": 131049,
                                                            "details": "ecosystem engagement"})
    wamid = (await simulator.send(text())).json()["messages"][0]["id"]
    [status] = await eventually(lambda: receiver.statuses(wamid))
    assert status["status"] == "failed" and status["errors"][0]["code"] == 131049
    assert status["errors"][0]["error_data"]["details"] == "ecosystem engagement"
    r = await simulator.control.post("/simulator/faults", json={"kind": "graph_error"})
    assert r.status_code == 400


async def test_media_faults(simulator: RunningSimulator) -> None:
    await simulator.control.post("/simulator/faults", json={"kind": "http_503", "endpoint": "media"})
    url = f"/{simulator.config.phone_number_id}/media"
    files = {"file": ("a.png", PNG, "image/png")}
    r = await simulator.graph.post(url, data={"messaging_product": "whatsapp"}, files=files)
    assert r.status_code == 503
    r = await simulator.graph.post(url, data={"messaging_product": "whatsapp"}, files=files)
    assert r.status_code == 200


async def test_config_patch_changes_delays_and_limits(simulator: RunningSimulator, receiver: Receiver) -> None:
    r = await simulator.control.patch("/simulator/config", json={"mps": 1000, "status_delays": {"never": ["read"]}})
    assert r.status_code == 200
    config = r.json()
    assert config["mps"] == 1000 and config["status_delays"]["read"] is None
    assert "access_token" not in config and "app_secret" not in config
    await simulator.user_writes(DANA)
    wamid = (await simulator.send(text())).json()["messages"][0]["id"]
    await eventually(lambda: len(receiver.statuses(wamid)) == 2)
    await asyncio.sleep(0.2)
    assert [s["status"] for s in receiver.statuses(wamid)] == ["sent", "delivered"]
    r = await simulator.control.patch("/simulator/config", json={"mps": -1})
    assert r.status_code == 400


async def test_reset_forgets_everything(simulator: RunningSimulator) -> None:
    await simulator.user_writes(DANA)
    await simulator.send(text())
    await simulator.control.post("/simulator/faults", json={"kind": "http_500", "count": 5})
    assert (await simulator.control.post("/simulator/reset")).json() == {"success": True}
    info = (await simulator.control.get("/simulator")).json()
    assert info["contacts"] == 0 and info["faults"] == [] and info["templates"] == 1
    assert "access_token" not in str(info) and simulator.config.access_token not in str(info)
    assert graph_error(await simulator.send(text()))["code"] == 131047  # the window went too


async def test_template_status_can_be_set(simulator: RunningSimulator) -> None:
    [hello] = (await simulator.control.get("/simulator/templates")).json()["data"]
    r = await simulator.control.post(f"/simulator/templates/{hello['id']}/status", json={"status": "PAUSED"})
    assert r.json()["status"] == "PAUSED"
    body = {"messaging_product": "whatsapp", "to": DANA, "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    assert graph_error(await simulator.send(body))["code"] == 132015
    assert (await simulator.control.post("/simulator/templates/1/status", json={"status": "PAUSED"})).status_code == 404


async def test_the_control_api_is_documented_in_the_openapi(simulator: RunningSimulator) -> None:
    schema = (await simulator.control.get("/openapi.json")).json()
    control = {p: ops for p, ops in schema["paths"].items() if p.startswith("/simulator")}
    assert {"/simulator/inbound", "/simulator/faults", "/simulator/contacts/{wa_id}/sent", "/simulator/reset",
            "/simulator/config", "/simulator/invalid-recipients"} <= set(control)
    for ops in control.values():
        for op in ops.values():
            assert op.get("summary"), op
