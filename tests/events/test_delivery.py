"""Delivery guarantees: every event arrives once (by its event id), in order per chat, through a
receiver outage; 4xx are not retried and the run says why; 408/429/5xx and silence are retried
with backoff, honouring Retry-After, until the horizon; a restart mid-backoff resumes; every
request is signed. Incoming messages go through the real path (signed WhatsApp webhooks)."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import httpx
from starlette.responses import Response

from inboxd.config import Settings
from inboxd.domain.clock import now_ms
from inboxd.events import store as events_store
from inboxd.events.signing import verify
from inboxd.store.db import Database
from tests.conftest import WhatsAppAccountSpec
from tests.events.conftest import API, Received, Receiver, runs, subscribe, token
from tests.support.server import start_server
from tests.support.webhooks import post_webhook, text_webhook, wait_processed

_wamids = itertools.count(1)


async def incoming(live_url: str, spec: WhatsAppAccountSpec, wa_id: str, text: str) -> None:
    payload = text_webhook(phone_number_id=spec.account.phone_number_id, wa_id=wa_id,
                           wamid=f"wamid.test{next(_wamids):06d}", text=text, timestamp=int(time.time()))
    async with httpx.AsyncClient(base_url=live_url) as http:
        r = await post_webhook(http, payload, spec.app_secret)
    assert r.status_code == 200, r.text


def text_of(item: Received) -> str:
    return item.body["eventData"]["message"]["text"]


def contact_of(item: Received) -> str:
    return item.body["eventData"]["message"]["chatChannelInfo"]["id"]


async def test_an_outage_then_recovery_delivers_every_event_once_in_order_per_chat(
    live: Any, api: httpx.AsyncClient, receiver: Receiver, wa_account: WhatsAppAccountSpec, db: Database
) -> None:
    scenario = await subscribe(api, "new-incoming-messages", receiver.url)
    down = True
    receiver.answer = lambda _item: Response(status_code=503 if down else 200)
    contacts = ["972500000001", "972500000002", "972500000003"]
    sent = {c: [f"{c[-1]}-{i}" for i in range(5)] for c in contacts}
    for i in range(5):
        for c in contacts:
            await incoming(live.url, wa_account, c, sent[c][i])
    await wait_processed(db)

    # While down (an hour, in a test's time: the backoff is capped at 0.2 s here): each chat's
    # first event is retried, and nothing behind it is sent before it.
    def tries(text: str) -> int:
        return sum(1 for s in receiver.seen if text_of(s) == text)

    deadline = time.monotonic() + 10
    while not all(tries(sent[c][0]) >= 3 for c in contacts):
        assert time.monotonic() < deadline, "the heads of the chats were not retried"
        await asyncio.sleep(0.05)
    assert receiver.requests == []
    assert {text_of(s) for s in receiver.seen} == {sent[c][0] for c in contacts}

    down = False
    await receiver.wait_for(15)
    await receiver.settle()
    assert len(receiver.requests) == 15
    assert len({r.event_id for r in receiver.requests}) == 15  # once each
    for c in contacts:
        assert [text_of(r) for r in receiver.requests if contact_of(r) == c] == sent[c]  # in order
        # and never an event of the chat before the previous one was delivered
        attempts = [text_of(s) for s in receiver.seen if contact_of(s) == c]
        assert attempts == sorted(attempts, key=sent[c].index)

    # a retried event keeps its id; every request carries a valid signature
    first_id = next(s.event_id for s in receiver.seen if text_of(s) == sent[contacts[0]][0])
    assert [s.event_id for s in receiver.seen if text_of(s) == sent[contacts[0]][0]].count(first_id) >= 3
    for s in receiver.seen:
        assert verify(scenario["signingSecret"], s.raw, s.signature)
        assert s.headers["content-type"] == "application/json"
        assert s.headers["x-inboxd-scenario-id"] == scenario["_id"]

    # the runs show it all: delivered, after 503s
    all_runs = await runs(api, scenario["_id"], limit=100)
    assert len(all_runs) == 15 and {r["status"] for r in all_runs} == {"delivered"}
    head = next(r for r in all_runs if r["_id"] == first_id)
    assert [a["statusCode"] for a in head["attempts"]][-1] == 200
    assert {a["statusCode"] for a in head["attempts"][:-1]} == {503}
    assert all(a["outcome"] == "retry" and a["error"].startswith("HTTP 503") for a in head["attempts"][:-1])
    assert head["attempts"][-1]["outcome"] == "delivered" and head["attempts"][-1]["latencyMs"] >= 0


async def test_a_client_error_is_not_retried_and_the_run_says_why(
    live: Any, api: httpx.AsyncClient, receiver: Receiver, wa_account: WhatsAppAccountSpec, db: Database
) -> None:
    scenario = await subscribe(api, "new-incoming-messages", receiver.url)

    def answer(item: Received) -> Response:
        if text_of(item) == "poison":
            return Response(b'{"error": "unknown field \\"poison\\""}', status_code=400, media_type="application/json")
        return Response(status_code=204)

    receiver.answer = answer
    for text in ("before", "poison", "after"):
        await incoming(live.url, wa_account, "972500000011", text)
    await receiver.wait_for(2)
    await receiver.settle()
    assert [text_of(s) for s in receiver.seen] == ["before", "poison", "after"]  # tried once, and not blocking

    failed = await runs(api, scenario["_id"], status="failed")
    assert len(failed) == 1
    run = failed[0]
    assert run["lastStatusCode"] == 400 and run["attemptCount"] == 1 and run["nextAttemptAt"] is None
    assert run["lastError"] == 'HTTP 400: {"error": "unknown field \\"poison\\""}'
    assert [(a["statusCode"], a["outcome"]) for a in run["attempts"]] == [(400, "failed")]
    assert run["eventName"] == "newIncomingMessage" and run["triggerEvent"] == "domain.message.created"
    delivered = await runs(api, scenario["_id"], status="delivered")
    assert [r["lastStatusCode"] for r in delivered] == [204, 204]


async def test_retry_after_is_honoured(
    live: Any, api: httpx.AsyncClient, receiver: Receiver, wa_account: WhatsAppAccountSpec
) -> None:
    await subscribe(api, "new-incoming-messages", receiver.url)
    answers = iter([Response(status_code=429, headers={"Retry-After": "2"}), Response(status_code=408)])
    receiver.answer = lambda _item: next(answers, Response(status_code=200))
    await incoming(live.url, wa_account, "972500000021", "hi")
    await receiver.wait_for(1)
    first, second, third = receiver.seen[:3]
    assert second.at - first.at >= 1.95  # Retry-After: 2, although the backoff is capped at 0.2 s here
    assert third.at - second.at < 1.5  # 408 is retried with the ordinary backoff, not after another 2 s
    assert first.event_id == second.event_id == third.event_id


async def test_silence_is_bounded_and_retried(
    events_settings: Settings, db: Database, receiver: Receiver, wa_account: WhatsAppAccountSpec
) -> None:
    settings = events_settings.model_copy(update={"events_timeout_seconds": 0.5})
    hang = True

    async def answer(_item: Received) -> Response:
        if hang:
            await asyncio.sleep(3)
        return Response(status_code=200)

    receiver.answer = answer
    async with start_server(settings, db) as live:
        secret = await token(db)
        async with httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {secret}"}) as api:
            scenario = await subscribe(api, "new-incoming-messages", receiver.url)
            await incoming(live.url, wa_account, "972500000031", "anyone there?")
            deadline = time.monotonic() + 10
            while len(await runs_attempts(api, scenario["_id"])) < 2:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            hang = False
            await receiver.wait_for(1)
            [run] = await runs(api, scenario["_id"])
    timeouts = [a for a in run["attempts"] if a["statusCode"] is None]
    assert timeouts and all(a["error"] == "no answer within 0.5 s" and a["outcome"] == "retry" for a in timeouts)
    assert all(a["latencyMs"] < 1500 for a in timeouts)
    assert run["status"] == "delivered"


async def runs_attempts(api: httpx.AsyncClient, scenario_id: str) -> list[dict[str, Any]]:
    found = await runs(api, scenario_id)
    return found[0]["attempts"] if found else []


async def test_an_event_is_given_up_at_the_retry_horizon(
    events_settings: Settings, db: Database, receiver: Receiver, wa_account: WhatsAppAccountSpec
) -> None:
    settings = events_settings.model_copy(update={"events_retry_horizon_seconds": 1.5})
    receiver.answer = lambda _item: Response(b"maintenance", status_code=502)
    async with start_server(settings, db) as live:
        secret = await token(db)
        async with httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {secret}"}) as api:
            scenario = await subscribe(api, "new-incoming-messages", receiver.url)
            await incoming(live.url, wa_account, "972500000041", "hello?")
            deadline = time.monotonic() + 10
            while not await runs(api, scenario["_id"], status="failed"):
                assert time.monotonic() < deadline, "not given up"
                await asyncio.sleep(0.1)
            [run] = await runs(api, scenario["_id"])
    assert len(run["attempts"]) >= 3
    assert run["attempts"][-1]["outcome"] == "failed"
    assert run["lastError"].startswith("HTTP 502: maintenance; gave up after")
    assert "retry horizon of 1.5 s" in run["lastError"]
    assert run["finishedAt"] - run["created"] < 3500


async def test_delivery_resumes_after_a_restart_mid_backoff(
    events_settings: Settings, db: Database, receiver: Receiver, wa_account: WhatsAppAccountSpec
) -> None:
    # A long backoff: the retry is still ahead when inboxd stops.
    settings = events_settings.model_copy(update={"events_retry_max_seconds": 2.0})
    down = True
    receiver.answer = lambda _item: Response(status_code=503 if down else 200)
    secret = await token(db)
    async with start_server(settings, db) as live:
        async with httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {secret}"}) as api:
            scenario = await subscribe(api, "new-incoming-messages", receiver.url)
        for text in ("one", "two", "three"):
            await incoming(live.url, wa_account, "972500000051", text)
        deadline = time.monotonic() + 10
        while len(receiver.seen) < 3:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {secret}"}) as api:
            pending = await runs(api, scenario["_id"], status="pending")
        assert len(pending) == 3 and any(r["nextAttemptAt"] > now_ms() for r in pending)  # mid-backoff
    # inboxd is stopped; the receiver comes back; nothing is delivered until inboxd runs again
    down = False
    seen_while_stopped = len(receiver.seen)
    await asyncio.sleep(0.5)
    assert len(receiver.seen) == seen_while_stopped and receiver.requests == []
    async with start_server(settings, db) as live:
        await receiver.wait_for(3, within=15)
        await receiver.settle()
        async with httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {secret}"}) as api:
            done = await runs(api, scenario["_id"], status="delivered")
    assert [text_of(r) for r in receiver.requests] == ["one", "two", "three"]
    assert len(done) == 3


async def test_one_slow_chat_does_not_hold_back_another(
    live: Any, api: httpx.AsyncClient, receiver: Receiver, wa_account: WhatsAppAccountSpec
) -> None:
    """Order is per chat: while one chat's event is being retried, other chats flow."""
    await subscribe(api, "new-incoming-messages", receiver.url)
    receiver.answer = lambda item: Response(status_code=500 if contact_of(item) == "972500000061" else 200)
    await incoming(live.url, wa_account, "972500000061", "stuck")
    for i in range(3):
        await incoming(live.url, wa_account, "972500000062", f"free {i}")
    got = await receiver.wait_for(3)
    assert [text_of(r) for r in got] == ["free 0", "free 1", "free 2"]


async def test_unsubscribing_stops_queued_events(
    live: Any, api: httpx.AsyncClient, receiver: Receiver, wa_account: WhatsAppAccountSpec, db: Database
) -> None:
    """Deleting a subscription drops what it had not delivered yet."""
    scenario = await subscribe(api, "new-incoming-messages", receiver.url)
    receiver.answer = lambda _item: Response(status_code=503)
    await incoming(live.url, wa_account, "972500000071", "lost")
    deadline = time.monotonic() + 10
    while not receiver.seen:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    r = await api.delete(f"{API}/scenarios/manage/{scenario['_id']}")
    assert r.status_code == 200
    count = len(receiver.seen)
    await asyncio.sleep(0.6)
    assert len(receiver.seen) <= count + 1  # at most one attempt already in flight


async def test_an_event_held_by_a_dead_worker_is_delivered_by_another_once_its_lease_runs_out(
    events_settings: Settings, db: Database, receiver: Receiver, wa_account: WhatsAppAccountSpec
) -> None:
    """Nothing that matters is in a worker's memory: a worker that claimed an event and died
    (no answer recorded) only holds it until its lease runs out; then another sends it, same id."""
    idle = events_settings.model_copy(update={"workers": 0})  # no worker loops: we play them here
    secret = await token(db)
    async with start_server(idle, db) as live:
        async with httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {secret}"}) as api:
            scenario = await subscribe(api, "new-incoming-messages", receiver.url)
            await incoming(live.url, wa_account, "972500000081", "held")
            assert live.services is not None
            await live.services.inbound.run_once()  # store the message: the event is queued
            async with db.write() as conn:
                [held] = await events_store.claim_due(conn, owner="dead-worker", now=now_ms(), lease_ms=600, limit=10)
            assert live.services.event_delivery is not None
            worker = live.services.event_delivery.worker
            assert await worker.run_once() == 0  # leased to the dead worker
            await asyncio.sleep(0.7)
            await worker.drain(seconds=10)
            [run] = await runs(api, scenario["_id"])
    [got] = receiver.requests
    assert got.event_id == held["id"] == run["_id"]
    assert run["status"] == "delivered" and run["attemptCount"] == 2 and len(run["attempts"]) == 1
