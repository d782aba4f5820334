"""Webhooks out, as a callback sees them: signed, statuses in order, batched, retried with
backoff, failures as Meta reports them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import pytest

from inboxd.channels.whatsapp.inbound_parser import parse_webhook
from inboxd.simulator import StatusDelays
from tests.simulator.support import (
    INBOUND_BODIES,
    Receiver,
    RunningSimulator,
    eventually,
    quick_config,
    running_simulator,
)
from tests.simulator.test_graph_routes import DANA, text


def expected_signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_every_post_is_signed_with_the_app_secret(simulator: RunningSimulator, receiver: Receiver) -> None:
    await simulator.user_writes(DANA, text="Shalom ✓ ünïcode")
    await simulator.send(text())
    await eventually(lambda: len(receiver.statuses()) >= 3)
    for headers, body in receiver.posts:
        assert headers["x-hub-signature-256"] == expected_signature(body, simulator.config.app_secret)
        assert headers["content-type"] == "application/json"
        assert body.isascii()  # Meta signs the escaped-unicode form


async def test_statuses_sent_delivered_read_in_order(simulator: RunningSimulator, receiver: Receiver) -> None:
    await simulator.user_writes(DANA)
    r = await simulator.send({**text(), "biz_opaque_callback_data": "ticket-42"})
    wamid = r.json()["messages"][0]["id"]
    statuses = await eventually(lambda: len(receiver.statuses(wamid)) == 3 and receiver.statuses(wamid))
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    for status in statuses:
        assert status["recipient_id"] == DANA and status["biz_opaque_callback_data"] == "ticket-42"
        assert status["timestamp"].isdigit()
    assert statuses[0]["pricing"]["category"] == "service"
    value = receiver.values()[-1]
    assert value["metadata"] == {
        "display_phone_number": simulator.config.display_phone_number,
        "phone_number_id": simulator.config.phone_number_id,
    }
    sent = await simulator.sent_to(DANA)
    assert sent[-1]["statuses"] == ["sent", "delivered", "read"] and sent[-1]["status"] == "read"


async def test_a_reaction_gets_only_sent(simulator: RunningSimulator, receiver: Receiver) -> None:
    inbound = await simulator.user_writes(DANA)
    r = await simulator.send({"messaging_product": "whatsapp", "to": DANA, "type": "reaction",
                              "reaction": {"message_id": inbound, "emoji": "👍"}})
    wamid = r.json()["messages"][0]["id"]
    await eventually(lambda: receiver.statuses(wamid))
    await asyncio.sleep(0.3)
    assert [s["status"] for s in receiver.statuses(wamid)] == ["sent"]


async def test_several_pending_statuses_travel_in_one_post(receiver: Receiver) -> None:
    config = quick_config(callback_url=receiver.url, status_delays=StatusDelays(sent=0.3, delivered=None, read=None))
    async with running_simulator(config) as simulator:
        await simulator.user_writes(DANA)
        await eventually(lambda: receiver.messages())
        posts_before = len(receiver.posts)
        responses = await asyncio.gather(*(simulator.send(text(body=str(i))) for i in range(20)))
        ids = [r.json()["messages"][0]["id"] for r in responses]
        await eventually(lambda: len(receiver.statuses()) == 20)
        assert {s["id"] for s in receiver.statuses()} == set(ids)
        assert len(receiver.posts) - posts_before < 5  # batched, not one POST each


async def test_a_failing_callback_is_retried_with_backoff(receiver: Receiver) -> None:
    receiver.fail_next, receiver.fail_status = 2, 503
    async with running_simulator(quick_config(callback_url=receiver.url)) as simulator:
        inbound = await simulator.user_writes(DANA)
        await eventually(lambda: any(m["id"] == inbound for m in receiver.messages()[2:]), within=15)
        # the simulator records an attempt once its POST has returned, a moment after the receiver saw it
        deliveries = await eventually(lambda: len(simulator.sim.webhooks.stats()["recent"]) >= 3
                                      and simulator.sim.webhooks.stats()["recent"], within=15)
        assert [d["http_status"] for d in deliveries[:3]] == [503, 503, 200]
        assert [d["attempt"] for d in deliveries[:3]] == [1, 2, 3]
        gaps = [b["at"] - a["at"] for a, b in zip(deliveries, deliveries[1:3], strict=False)]
        assert gaps[1] > gaps[0] * 1.2  # exponential backoff


async def test_an_unreachable_callback_is_retried_and_counted(receiver: Receiver) -> None:
    config = quick_config(callback_url="http://127.0.0.1:9/nowhere", webhook_max_attempts=2)
    async with running_simulator(config) as simulator:
        await simulator.user_writes(DANA)
        stats = await eventually(lambda: simulator.sim.webhooks.counters.get("dropped_message") and
                                 simulator.sim.webhooks.stats(), within=10)
        assert stats["recent"][0]["error"] and stats["counters"]["posts_failed"] == 2


async def test_an_invalid_recipient_gets_a_failed_status_with_131026(simulator: RunningSimulator, receiver: Receiver) -> None:
    await simulator.user_writes(DANA)
    r = await simulator.control.put("/simulator/invalid-recipients", json={"recipients": [f"+{DANA}"]})
    assert r.json() == {"recipients": [DANA]}
    r = await simulator.send(text())
    assert r.status_code == 200  # accepted, as Meta does; the failure comes by webhook
    wamid = r.json()["messages"][0]["id"]
    [status] = await eventually(lambda: receiver.statuses(wamid))
    assert status["status"] == "failed" and status["errors"][0]["code"] == 131026
    parsed = parse_webhook(receiver.payloads()[-1])
    assert parsed.statuses[0].error is not None and parsed.statuses[0].error["code"] == 131026


async def test_no_callback_means_no_webhooks_and_sends_still_work() -> None:
    async with running_simulator(quick_config(callback_url=None)) as simulator:
        await simulator.user_writes(DANA)
        assert (await simulator.send(text())).status_code == 200
        await eventually(lambda: simulator.sim.webhooks.counters.get("dropped_no_callback", 0) >= 2)


@pytest.mark.parametrize("name", ["text", "image", "video", "audio", "document", "sticker", "location",
                                  "contacts", "button_reply", "list_reply", "button", "reaction", "raw"])
async def test_every_inbound_type_reaches_the_callback_as_inboxd_parses_it(
    simulator: RunningSimulator, receiver: Receiver, name: str
) -> None:
    result = await simulator.inbound(**{"from": DANA, "name": "Dana", **INBOUND_BODIES[name]})
    [message] = await eventually(lambda: [m for m in receiver.messages() if m["id"] == result["id"]])
    parsed = parse_webhook(next(p for p in receiver.payloads() if result["id"] in str(p)))
    [item] = [m for m in parsed.messages if m.external_id == result["id"]]
    assert item.contact_id == DANA and item.profile_name == "Dana"
    expected_type = {"button_reply": "postback", "list_reply": "postback", "button": "postback",
                     "image": "media", "video": "media", "audio": "media", "document": "media",
                     "sticker": "media", "reaction": "special", "raw": "special"}.get(name, name)
    assert item.type == expected_type
    if item.media is not None:
        assert item.media.media_id == result["media_id"] and message[message["type"]]["url"].startswith("http")
