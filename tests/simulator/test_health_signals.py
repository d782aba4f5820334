"""The simulator's side of channel health: a revoked token, the number's quality rating, Meta's
account webhooks, and webhooks that stop coming (a broken subscription)."""

from __future__ import annotations

import asyncio

from inboxd.channels.whatsapp.signature import HEADER, sign
from tests.simulator.support import Receiver, RunningSimulator, eventually
from tests.simulator.test_graph_routes import DANA, text


async def test_a_rotated_token_makes_the_old_one_fail_with_190(simulator: RunningSimulator) -> None:
    await simulator.user_writes(DANA)
    r = await simulator.control.post("/simulator/access-token", json={"token": "brand-new-token"})
    assert r.json() == {"access_token": "brand-new-token"}
    r = await simulator.send(text())  # the client still holds the old token
    assert r.status_code == 401 and r.json()["error"]["code"] == 190
    r = await simulator.send(text(), headers={"Authorization": "Bearer brand-new-token"})
    assert r.status_code == 200
    generated = (await simulator.control.post("/simulator/access-token", json={})).json()["access_token"]
    assert generated.startswith("SIM") and generated != "brand-new-token"
    assert (await simulator.control.post("/simulator/access-token", json={"token": "short"})).status_code == 400


async def test_quality_rating(simulator: RunningSimulator, receiver: Receiver) -> None:
    async def rating() -> str:
        return (await simulator.graph.get(f"/{simulator.config.phone_number_id}")).json()["quality_rating"]

    assert await rating() == "GREEN"
    assert (await simulator.control.put("/simulator/quality", json={"rating": "YELLOW"})).json() == {
        "quality_rating": "YELLOW", "event": None}
    assert await rating() == "YELLOW"
    assert (await simulator.control.put("/simulator/quality", json={"rating": "RED"})).json()["event"] == "FLAGGED"
    assert (await simulator.control.put("/simulator/quality", json={"rating": "GREEN"})).json()["event"] == "UNFLAGGED"
    def changes_posted() -> list:  # type: ignore[type-arg]
        return [c for p in receiver.payloads() for e in p["entry"] for c in e["changes"]]

    changes = await eventually(lambda: len(changes_posted()) >= 2 and changes_posted())
    assert [(c["field"], c["value"]["event"]) for c in changes] == [
        ("phone_number_quality_update", "FLAGGED"), ("phone_number_quality_update", "UNFLAGGED")]
    assert changes[0]["value"]["display_phone_number"] == simulator.config.display_phone_number
    assert (await simulator.control.put("/simulator/quality", json={"rating": "BLUE"})).status_code == 400
    (await simulator.control.post("/simulator/reset"))
    assert await rating() == "GREEN"


async def test_account_webhooks_are_posted_signed_with_the_waba_and_time(
    simulator: RunningSimulator, receiver: Receiver
) -> None:
    value = {"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "SCAM"}}
    r = await simulator.control.post("/simulator/account-webhooks", json={"field": "account_update", "value": value})
    assert r.status_code == 200
    await eventually(lambda: receiver.posts)
    headers, body = receiver.posts[0]
    assert headers[HEADER.lower()] == sign(body, simulator.config.app_secret)
    [entry] = receiver.payloads()[0]["entry"]
    assert entry["id"] == simulator.config.waba_id and isinstance(entry["time"], int)
    assert entry["changes"] == [{"value": value, "field": "account_update"}]
    r = await simulator.control.post("/simulator/account-webhooks", json={"field": "messages", "value": {}})
    assert r.status_code == 400


async def test_webhooks_can_be_switched_off(simulator: RunningSimulator, receiver: Receiver) -> None:
    await simulator.control.patch("/simulator/config", json={"webhooks_enabled": False})
    await simulator.user_writes(DANA)
    assert (await simulator.send(text())).status_code == 200  # sends still work
    await eventually(lambda: simulator.sim.webhooks.counters["dropped_disabled"] >= 2)
    assert receiver.posts == []
    await simulator.control.patch("/simulator/config", json={"webhooks_enabled": True})
    await simulator.user_writes(DANA, "again")
    await eventually(lambda: receiver.messages())
    await asyncio.sleep(0)
    assert [m["text"]["body"] for m in receiver.messages()] == ["again"]
