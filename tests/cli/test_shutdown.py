"""Graceful shutdown of real `inboxd worker` and `inboxd serve` processes: on SIGTERM the work
under way finishes while INBOXD_SHUTDOWN_SECONDS allows, what cannot finish is given back (the
lease cleared, not left to run out), the process exits within the limit, and another process
takes the work over at once (well before the 60 s leases these tests set would run out).

The simulator, the customer's event receiver and an API server without worker loops (it takes
the webhooks and sends) run in the test; the workers under test are processes of their own."""

from __future__ import annotations

import asyncio
import base64
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.responses import Response

from inboxd.config import Settings
from inboxd.store.db import Database
from inboxd.store.tables import chats, event_deliveries, messages, outbox, webhook_events
from tests.conftest import DbTarget
from tests.events.conftest import Receiver, subscribe
from tests.support.cli import INBOXD, cli_env, free_port
from tests.support.server import serve_asgi, start_server
from tests.support.wa import WhatsAppRig, whatsapp_rig

pytestmark = pytest.mark.slow

SHUTDOWN_SECONDS = 4.0
HANG_SECONDS = 12.0  # longer than a shutdown; short, since the test servers wait for these calls at the end
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@dataclass
class Stack:
    rig: WhatsAppRig
    receiver: Receiver
    env: dict[str, str]
    logs: Path

    def start(self, command: str = "worker", name: str = "w") -> subprocess.Popen[bytes]:
        args = [*INBOXD, "worker", "--loops", "1"] if command == "worker" else [*INBOXD, "serve", "--port", str(free_port())]
        log = (self.logs / f"{name}.log").open("wb")
        return subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT)


async def until(condition: Callable[[], Awaitable[Any]], within: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + within
    while not (result := await condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
    return result


async def stop(proc: subprocess.Popen[bytes]) -> float:
    """SIGTERM; the seconds until the process exited."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    await until(lambda: asyncio.sleep(0, proc.poll() is not None), within=SHUTDOWN_SECONDS + 15, what="the exit")
    return time.monotonic() - started


@pytest.fixture
async def stack(settings: Settings, db: Database, db_target: DbTarget, tmp_path: Path) -> AsyncIterator[Stack]:
    api_settings = settings.model_copy(update={"workers": 0, "events_allow_private_urls": True})
    receiver = Receiver()
    async with (
        serve_asgi(receiver.app()) as (receiver_url, _),
        start_server(api_settings, db) as live,
        whatsapp_rig(live, db) as rig,
    ):
        receiver.url = f"{receiver_url}/hooks"
        env = cli_env(tmp_path / "data", {
            **db_target.settings_env(),
            "INBOXD_SHUTDOWN_SECONDS": str(SHUTDOWN_SECONDS),
            "INBOXD_DELIVERY_LEASE_SECONDS": "60",
            "INBOXD_DELIVERY_DOUBT_GRACE_SECONDS": "1",
            "INBOXD_GRAPH_TIMEOUT_SECONDS": "60",
            "INBOXD_EVENTS_TIMEOUT_SECONDS": "60",
            "INBOXD_EVENTS_ALLOW_PRIVATE_URLS": "true",
            "INBOXD_SIMULATOR": "false",
        })
        yield Stack(rig, receiver, env, tmp_path)


async def chat_of(stack: Stack, wa_id: str) -> str:
    """A chat the user opened (processed here: the API server runs no worker loops)."""
    r = await stack.rig.control.post("/simulator/inbound", json={"from": wa_id, "name": "Dana", "text": {"body": "Hi"}})
    assert r.status_code == 200, r.text
    inbound = stack.rig.server.services.inbound  # type: ignore[union-attr]

    async def stored() -> str | None:
        await inbound.run_once()
        async with stack.rig.db.read() as conn:
            return (await conn.execute(sa.select(chats.c.id).where(chats.c.contact_id == wa_id))).scalar()

    return await until(stored, what="the chat")


async def rows(db: Database, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
    async with db.read() as conn:
        return [dict(r) for r in (await conn.execute(sa.select(table).where(*where))).mappings()]


async def test_sends_in_flight_finish_or_go_back_and_another_worker_takes_them(stack: Stack) -> None:
    rig = stack.rig
    quick, stuck = "972521110001", "972521110002"
    chats = {user: await chat_of(stack, user) for user in (quick, stuck)}
    # A send that answers after 2 s (it finishes) and one that hangs past the shutdown (given back).
    await rig.fault(kind="timeout", seconds=2, accept_after_timeout=True, recipient=quick, count=1)
    await rig.fault(kind="timeout", seconds=HANG_SECONDS, recipient=stuck, count=1)
    for user, chat in chats.items():
        for n in range(3):
            r = await rig.send(chat, {"type": "text", "text": f"{user} {n}"}, headers={"Prefer": "respond-async"})
            assert r.status_code == 202, r.text
    first = stack.start(name="first")
    # Both chats' first messages are being sent (held by the first worker).
    await until(lambda: _held(rig.db, 2), what="both sends under way")
    await asyncio.sleep(0.5)
    took = await stop(first)
    assert took < SHUTDOWN_SECONDS + 2.0, took  # within the limit (and the exit itself)
    left = await rows(rig.db, outbox)
    assert left and all(row["lease_owner"] is None and row["lease_until"] is None for row in left), left
    # The quick one finished before the exit: delivered, recorded, its row gone.
    assert [m["payload"]["text"]["body"] for m in await rig.sent_to(quick)] == [f"{quick} 0"]
    [doubt] = [row for row in left if row["chat_id"] == chats[stuck] and row["seq"] == min(
        r["seq"] for r in left if r["chat_id"] == chats[stuck])]
    assert "shut down" in doubt["last_error"]["message"]  # it may have gone out: the doubt grace applies
    second = stack.start(name="second")
    try:
        async def all_sent() -> bool:
            return not await rows(rig.db, outbox)

        await until(all_sent, within=30, what="the second worker to send everything")  # < the 60 s lease
    finally:
        await stop(second)
    for user in (quick, stuck):
        assert [m["payload"]["text"]["body"] for m in await rig.sent_to(user)] == [f"{user} {n}" for n in range(3)]


async def _held(db: Database, count: int) -> bool:
    return len(await rows(db, outbox, outbox.c.lease_owner.is_not(None))) >= count


async def test_webhook_events_not_processed_go_back(stack: Stack) -> None:
    rig = stack.rig
    await rig.fault(kind="timeout", seconds=HANG_SECONDS, endpoint="media", count=1)  # the first download hangs
    for n in range(3):
        r = await rig.control.post("/simulator/inbound", json={
            "from": f"97252222000{n}", "name": "Dana", "image": {"data": base64.b64encode(PNG).decode()}})
        assert r.status_code == 200, r.text
    await until(lambda: _events(rig.db, 3), what="the webhooks")
    first = stack.start(name="first")
    await until(lambda: _claimed_events(rig.db), what="the events claimed")
    await asyncio.sleep(0.5)
    took = await stop(first)
    assert took < SHUTDOWN_SECONDS + 2.0, took
    pending = await rows(rig.db, webhook_events, webhook_events.c.state == "pending")
    assert pending and all(e["lease_until"] is None and e["attempts"] == 0 for e in pending), pending
    second = stack.start(name="second")
    try:
        async def stored() -> bool:
            return len(await rows(rig.db, messages, messages.c.direction == "incoming")) == 3

        await until(stored, within=30, what="the three images stored")  # < the 60 s event lease
    finally:
        await stop(second)
    assert not await rows(rig.db, webhook_events, webhook_events.c.state == "pending")


async def _events(db: Database, count: int) -> bool:
    return len(await rows(db, webhook_events)) >= count


async def _claimed_events(db: Database) -> bool:
    return bool(await rows(db, webhook_events, webhook_events.c.lease_until.is_not(None)))


async def test_event_deliveries_in_flight_go_back(stack: Stack) -> None:
    rig, receiver = stack.rig, stack.receiver
    slow = asyncio.Event()

    async def answer(_item: Any) -> Response:
        if not slow.is_set():
            slow.set()
            await asyncio.sleep(HANG_SECONDS)  # the first attempt outlasts the shutdown
        return Response(status_code=200)

    receiver.answer = answer
    await subscribe(rig.client, "all-messages", receiver.url)
    await chat_of(stack, "972523330001")  # its message.created event is queued with it
    first = stack.start(name="first")
    await until(lambda: asyncio.sleep(0, slow.is_set()), what="the delivery under way")
    took = await stop(first)
    assert took < SHUTDOWN_SECONDS + 2.0, took
    [delivery] = await rows(rig.db, event_deliveries)
    assert delivery["state"] == "pending" and delivery["lease_owner"] is None and delivery["attempts"] == 0
    second = stack.start(name="second")
    try:
        got = await receiver.wait_for(1, within=30)  # < the events' lease (timeout + 30 s)
    finally:
        await stop(second)
    assert got[0].event_id == delivery["id"]


async def test_serve_stops_within_the_limit_and_gives_back(stack: Stack) -> None:
    """`inboxd serve` (HTTP and worker loops in one process) the same way."""
    rig = stack.rig
    chat = await chat_of(stack, "972524440001")
    await rig.fault(kind="timeout", seconds=HANG_SECONDS, count=1)
    r = await rig.send(chat, {"type": "text", "text": "stuck"}, headers={"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    server = stack.start("serve", name="serve")
    await until(lambda: _held(rig.db, 1), what="the send under way")
    took = await stop(server)
    assert took < SHUTDOWN_SECONDS + 2.0, took
    [row] = await rows(rig.db, outbox)
    assert row["lease_owner"] is None and "shut down" in row["last_error"]["message"]
    log = (stack.logs / "serve.log").read_text()
    assert "Application shutdown complete" in log, log

