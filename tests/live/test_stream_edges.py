"""The live stream's edges over real HTTP: an id past retention gets `resync`, idle streams get
pings, a closed client leaves the hub at once, and a client that stops reading is dropped and
resumes from its last id with nothing lost."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from inboxd import domain_events as de
from inboxd import housekeeping
from inboxd.config import Settings
from inboxd.domain.scopes import Scope
from inboxd.live import stream as live_stream
from inboxd.metrics import REGISTRY
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from tests.support.live import LIVE, LiveReader, head
from tests.support.server import LiveServer, start_server


@pytest.fixture
async def live_server(settings: Settings, db: Database) -> AsyncIterator[LiveServer]:
    fast = settings.model_copy(update={"live_ping_seconds": 0.5, "live_buffer_events": 20, "workers": 0})
    async with start_server(fast, db) as live:
        yield live


@pytest.fixture
async def token(make_token: Any) -> str:
    return await make_token(Scope.VIEW_ALL_CHATS)


async def publish_problems(server: LiveServer, count: int, size: int = 100, start: int = 0) -> None:
    """`count` channel-health problem notices in one transaction (events of `size` bytes of text)."""
    assert server.services is not None
    async with server.services.db.write() as conn:
        for n in range(start, start + count):
            problem = {"_id": f"p{n}", "name": "test_problem", "message": "x" * size}
            await server.services.events.publish(conn, de.CHANNEL_PROBLEM_CREATED, problem=problem)


async def test_an_id_past_retention_gets_one_resync_then_the_live_events(
    live_server: LiveServer, token: str, db: Database
) -> None:
    await publish_problems(live_server, 5)
    await asyncio.sleep(1.2)
    await publish_problems(live_server, 2, start=5)  # ids 6, 7: young
    counts = await housekeeping.purge_once(db, webhook_retention_days=7, live_retention_hours=1 / 3600)
    assert counts["live_events"] == 5
    # Still kept: resuming from 5 replays 6 and 7.
    async with LiveReader(live_server.url, token, last_event_id=5) as kept:
        await kept.wait_until_id(7)
    assert [(e.id, e.type) for e in kept.events] == [(6, "problem.created"), (7, "problem.created")]
    # Purged: resuming from 2 (3..5 are gone) is one resync carrying the head, then live.
    async with LiveReader(live_server.url, token, last_event_id=2) as stream:
        await stream.wait_count(1)
        await publish_problems(live_server, 1, start=7)
        await stream.wait_until_id(8)
    assert [(e.id, e.type) for e in stream.events] == [(7, "resync"), (8, "problem.created")]
    assert stream.events[0].data["lastEventId"] == 7
    # An id from another database (beyond the head) is a resync too.
    async with LiveReader(live_server.url, token, after=1000) as future:
        await future.wait_count(1)
    assert [(e.id, e.type) for e in future.events] == [(8, "resync")]


async def test_idle_streams_get_a_comment_ping(live_server: LiveServer, token: str) -> None:
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=httpx.Timeout(30, read=10)) as http,
        http.stream("GET", LIVE, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        lines = []
        async for line in response.aiter_lines():
            lines.append(line)
            if lines.count(": ping") == 2:
                break
    assert lines[0] == "retry: 2000"


async def test_a_stream_ends_when_its_credential_does(live_server: LiveServer, db: Database) -> None:
    """A revoked token's open stream is checked at its next ping and ends: nothing more is sent
    on it (the same check ends a signed-out or deactivated agent's: docs/live.md)."""
    async with db.write() as conn:
        secret, record = await tokens_store.create_token(conn, "revoked soon", [Scope.VIEW_ALL_CHATS])
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=httpx.Timeout(30, read=10)) as http,
        http.stream("GET", LIVE, headers={"Authorization": f"Bearer {secret}"}) as response,
    ):
        lines = response.aiter_lines()
        while await anext(lines) != ": ping":
            pass
        async with db.write() as conn:
            assert await tokens_store.revoke_token(conn, record.id)
        started = time.monotonic()
        rest = [line async for line in lines]  # to the end of the stream
    assert ": ping" not in rest and not any(line.startswith("id: ") for line in rest)
    assert time.monotonic() - started < 5  # pings every 0.5 s; the token cache's TTL is 0.5 s
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        assert (await http.get(LIVE, headers={"Authorization": f"Bearer {secret}"})).status_code == 401


async def test_a_client_that_leaves_is_unsubscribed_at_once(live_server: LiveServer, token: str) -> None:
    assert live_server.services is not None and live_server.services.live is not None
    hub = live_server.services.live.hub
    async with LiveReader(live_server.url, token):
        await _until(lambda: len(hub.subscribers) == 1)
    await _until(lambda: len(hub.subscribers) == 0)  # well before the next write would notice


async def _until(condition: Any, timeout: float = 20.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_a_client_that_stops_reading_is_dropped_and_resumes_from_its_last_id(
    live_server: LiveServer, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_stream, "STUCK_SECONDS", 0.5)
    assert live_server.services is not None and live_server.services.live is not None
    hub = live_server.services.live.hub
    start = await _head(live_server, token)
    dropped_before = REGISTRY.get_sample_value("inboxd_live_streams_dropped_total") or 0
    # A client with a tiny receive window that reads nothing for a while.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", live_server.port))
    sock.sendall(f"GET {LIVE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    await _until(lambda: len(hub.subscribers) == 1)
    # Far more than the socket buffers hold, in batches, until the hub gives up on it.
    total = 0
    while hub.subscribers:
        await publish_problems(live_server, 200, size=2000, start=total)
        total += 200
        assert total < 20_000, "the stuck client was never dropped"
        await asyncio.sleep(0.05)
    end = await _head(live_server, token)
    assert REGISTRY.get_sample_value("inboxd_live_streams_dropped_total") == dropped_before + 1
    # The server closes it; the client then reads what had reached it.
    received = await asyncio.to_thread(_read_until_closed, sock)
    got = [int(line[4:]) for line in received.split(b"\n") if line.startswith(b"id: ")]
    assert got and got == list(range(start + 1, got[-1] + 1))
    assert got[-1] < end  # it missed the rest ...
    async with LiveReader(live_server.url, token, last_event_id=got[-1]) as again:
        await again.wait_until_id(end)  # ... and gets exactly the rest on reconnecting
    assert again.ids == list(range(got[-1] + 1, end + 1))


def _read_until_closed(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    finally:
        sock.close()
    return b"".join(chunks)


async def _head(server: LiveServer, token: str) -> int:
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        return await head(http)
