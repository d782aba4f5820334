"""Presence from live streams (docs/sign-in.md, "Presence"): an agent with an open `/live` stream
(a signed-in session) is `online` unless they set `away`; when their last stream closes they
turn `offline` after `INBOXD_PRESENCE_GRACE_SECONDS` (30 s: a reload or a short drop reconnects
within it). Round robin reads presence, so it follows.

Streams are rows of `agent_streams`, so the rule holds across processes: each process refreshes
the rows of its open streams every `HEARTBEAT_SECONDS`; a closed stream's row keeps its
`closed_at` for the grace period. When the grace period of a closing runs out, this process
checks the agent (any open stream anywhere keeps them online); a process that died leaves rows
that go stale after `STALE_SECONDS` and are swept by the heartbeat loop of any process serving
streams. The change itself is `Directory.follow_streams`, on one
transaction under the assignment lock, so an opening and a sweep in two processes agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.responses import Response

from inboxd.agents.service import Directory
from inboxd.chats import assignment
from inboxd.domain.clock import now_ms
from inboxd.domain_events import DomainEvents
from inboxd.store import presence as store
from inboxd.store.db import Database

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 3 * HEARTBEAT_SECONDS


class StreamPresence:
    def __init__(self, db: Database, events: DomainEvents, *, grace_seconds: float) -> None:
        self.db = db
        self.directory = Directory(db, events)
        self.grace_seconds = grace_seconds
        self._open: dict[str, str] = {}  # stream row id → agent uid
        self._tasks: set[asyncio.Task[Any]] = set()
        self._heartbeat: asyncio.Task[None] | None = None

    async def opened(self, agent_uid: str) -> str:
        """A stream of the agent opened here; returns its row's id (for `closed`)."""
        now = now_ms()
        async with self.db.write() as conn:
            stream_id = await store.open_stream(conn, agent_uid, now)
            await self.directory.follow_streams(conn, agent_uid, streaming=True, now=now)
        self._open[stream_id] = agent_uid
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat())
        return stream_id

    async def closed(self, stream_id: str) -> None:
        agent_uid = self._open.pop(stream_id, None)
        if agent_uid is None:
            return
        async with self.db.write() as conn:
            await store.close_stream(conn, stream_id, now_ms())
        self._spawn(self._after_grace(agent_uid))

    async def _after_grace(self, agent_uid: str) -> None:
        await asyncio.sleep(self.grace_seconds + 0.05)
        await self.sweep(agent_uid)

    async def sweep(self, agent_uid: str | None = None) -> list[str]:
        """Turn offline the agents (or this one) whose streams no longer keep them online;
        returns their uids."""
        now = now_ms()
        bounds = {"stale_before": now - int(STALE_SECONDS * 1000), "closed_before": now - int(self.grace_seconds * 1000)}
        async with self.db.read() as conn:
            candidates = [agent_uid] if agent_uid is not None else await store.gone_agents(conn, **bounds)
        gone = []
        for uid in candidates:
            async with self.db.write() as conn:
                await assignment.lock(conn)  # first, as an opening takes it (Directory.follow_streams)
                if await store.is_streaming(conn, uid, **bounds):
                    continue
                await self.directory.follow_streams(conn, uid, streaming=False, now=now)
                await store.forget(conn, uid)
            gone.append(uid)
        return gone

    async def _beat(self) -> None:
        while self._open or self._tasks:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                async with self.db.write() as conn:
                    await store.still_open(conn, sorted(self._open), now_ms())
                await self.sweep()
            except Exception:  # the database is away: the next beat tries again
                log.warning("presence heartbeat failed; retrying", exc_info=True)

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("presence check failed", exc_info=task.exception())

    async def aclose(self) -> None:
        for task in [*self._tasks, *([self._heartbeat] if self._heartbeat else [])]:
            task.cancel()
        for task in [*self._tasks, *([self._heartbeat] if self._heartbeat else [])]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class StreamWithPresence(Response):
    """A live stream of a signed-in agent (the route's answer), counted for their presence while
    it is open."""

    def __init__(self, stream: Response, presence: StreamPresence, agent_uid: str) -> None:
        super().__init__(media_type=stream.media_type)
        self.stream, self.presence, self.agent_uid = stream, presence, agent_uid

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        stream_id = await self.presence.opened(self.agent_uid)
        try:
            await self.stream(scope, receive, send)
        finally:
            await asyncio.shield(self.presence.closed(stream_id))
