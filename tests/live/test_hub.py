"""The hub's two paths over real HTTP: a commit of this process reaches the streams from the
commit itself, without a read of the log (on PostgreSQL also without one for its own NOTIFY);
events committed elsewhere — another process's log writer on the same database — are read from
the log when a local commit's events do not follow on, so the stream stays in id order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from inboxd import domain_events as de
from inboxd.config import Settings
from inboxd.domain.scopes import Scope
from inboxd.domain_events import DomainEvents
from inboxd.live.hub import LiveHub
from inboxd.live.log import LiveLog
from inboxd.store.db import Database
from tests.conftest import DbTarget
from tests.support.live import LiveReader
from tests.support.server import LiveServer, start_server


@pytest.fixture
async def server(settings: Settings, db: Database) -> AsyncIterator[LiveServer]:
    async with start_server(settings.model_copy(update={"workers": 0}), db) as live:
        assert live.services is not None and live.services.live is not None
        # No poll and no ping within the test: the reader runs only when something wakes it.
        live.services.live.hub.POLL_SECONDS = 600
        live.services.live.hub.ping_seconds = 600
        yield live


@pytest.fixture
async def token(make_token: Any) -> str:
    return await make_token(Scope.VIEW_ALL_CHATS)


@pytest.fixture
def log_reads() -> Iterator[list[str]]:
    """Every statement that reads `live_events`' rows, on any engine, while the test runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM live_events" in statement:
            seen.append(statement)

    event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(sa.engine.Engine, "before_cursor_execute", record)


async def problem(db: Database, events: DomainEvents, n: int) -> None:
    """One transaction with one channel-health problem notice (one event)."""
    async with db.write() as conn:
        await events.publish(conn, de.CHANNEL_PROBLEM_CREATED, problem={"_id": f"p{n}", "name": "test_problem"})


async def subscribed(hub: LiveHub, stream: LiveReader, count: int = 1) -> None:
    deadline = time.monotonic() + 20
    while len(hub.subscribers) < count:
        assert time.monotonic() < deadline, "the stream never subscribed"
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # (its replay up to the hub's position done)


async def test_local_commits_reach_the_stream_without_a_read_of_the_log(
    server: LiveServer, token: str, log_reads: list[str]
) -> None:
    assert server.services is not None and server.services.live is not None
    hub, db, events = server.services.live.hub, server.services.db, server.services.events
    async with LiveReader(server.url, token) as stream:
        await subscribed(hub, stream)
        log_reads.clear()
        for n in range(5):
            await problem(db, events, n)
        await stream.wait_count(5)
        await asyncio.sleep(0.2)  # (on PostgreSQL: the commits' NOTIFY arrived, and read nothing)
    assert [e.type for e in stream.events] == ["problem.created"] * 5
    assert stream.ids == list(range(stream.ids[0], stream.ids[0] + 5))
    assert log_reads == []


async def test_events_committed_elsewhere_come_from_the_log_before_the_local_ones_after_them(
    server: LiveServer, token: str, db_target: DbTarget, log_reads: list[str]
) -> None:
    assert server.services is not None and server.services.live is not None
    hub, db, events = server.services.live.hub, server.services.db, server.services.events
    # Another process's writer: its own Database and log, no hub of this process told.
    other_db = Database(db_target.url, schema=db_target.schema)
    other_events = DomainEvents()
    LiveLog(other_db).install(other_events)
    try:
        async with LiveReader(server.url, token) as stream:
            await subscribed(hub, stream)
            await problem(db, events, 0)
            await stream.wait_count(1)
            await problem(other_db, other_events, 1)
            await problem(other_db, other_events, 2)
            await problem(db, events, 3)  # follows ids it was not handed: read from the log
            await stream.wait_count(4)
    finally:
        await other_db.dispose()
    assert [e.data["_id"] for e in stream.events] == ["p0", "p1", "p2", "p3"]
    assert stream.ids == list(range(stream.ids[0], stream.ids[0] + 4))
    assert log_reads  # the reader read them
