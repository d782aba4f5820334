"""Reading inboxd's live stream over a real connection (httpx + httpx-sse), in the background,
so a test can open a stream, cause changes, and wait for their events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from httpx_sse import aconnect_sse

from inboxd.store.db import Database
from inboxd.store.tables import messages, outbox, webhook_events

LIVE = "/server/api/v2/live"


@dataclass(frozen=True)
class Received:
    id: int
    type: str
    data: Any


class LiveReader:
    """One stream: `events` fills as they arrive; `ended` is set when the server ends it."""

    def __init__(self, base_url: str, token: str, *, after: int | None = None, last_event_id: int | None = None) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            self.headers["Last-Event-ID"] = str(last_event_id)
        self.params = {"after": str(after)} if after is not None else {}
        self.events: list[Received] = []
        self.status: int | None = None
        self.ended = asyncio.Event()
        self._opened = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> LiveReader:
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=httpx.Timeout(30, read=None))
        self._task = asyncio.get_running_loop().create_task(self._read())
        await asyncio.wait_for(self._opened.wait(), timeout=30)
        if self._task.done():
            self._task.result()
        assert self.status == 200, self.status
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self._client is not None:
            await self._client.aclose()

    async def _read(self) -> None:
        assert self._client is not None
        try:
            async with aconnect_sse(self._client, "GET", LIVE, headers=self.headers, params=self.params) as source:
                self.status = source.response.status_code
                self._opened.set()
                async for sse in source.aiter_sse():
                    if not sse.data:  # a `retry:` line alone (a browser dispatches nothing for it)
                        continue
                    self.events.append(Received(int(sse.id), sse.event, orjson.loads(sse.data)))
                    self._changed.set()
        finally:
            self._opened.set()
            self.ended.set()
            self._changed.set()

    @property
    def ids(self) -> list[int]:
        return [e.id for e in self.events]

    async def wait_for(self, done: Callable[[list[Received]], bool], timeout: float = 30.0) -> list[Received]:  # noqa: ASYNC109
        """Until `done(events)` holds (generous deadline: a loaded 2-core machine)."""
        deadline = time.monotonic() + timeout
        while not done(self.events):
            if self.ended.is_set() and not done(self.events):
                raise AssertionError(f"the stream ended after {len(self.events)} events")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"waited {timeout}s; got {len(self.events)} events: {self.summary()[-20:]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.5))
            except TimeoutError:
                pass
        return self.events

    async def wait_count(self, count: int, timeout: float = 30.0) -> list[Received]:  # noqa: ASYNC109
        return await self.wait_for(lambda events: len(events) >= count, timeout)

    async def wait_until_id(self, event_id: int, timeout: float = 30.0) -> list[Received]:  # noqa: ASYNC109
        return await self.wait_for(lambda events: bool(events) and events[-1].id >= event_id, timeout)

    def summary(self) -> list[tuple[int, str, str]]:
        return [(e.id, e.type, str(e.data.get("_id") if isinstance(e.data, dict) else "")) for e in self.events]


async def head(client: httpx.AsyncClient) -> int:
    """The last committed event id (`GET /live/snapshot`)."""
    r = await client.get(f"{LIVE}/snapshot")
    assert r.status_code == 200, r.text
    return int(r.json()["lastEventId"])


async def quiet(db: Database, timeout: float = 120.0) -> None:  # noqa: ASYNC109
    """Until nothing is left to happen: every webhook processed, the outbox empty, every send read
    (three times in a row, a moment apart: a read status's webhook may still be on its way)."""
    deadline = time.monotonic() + timeout
    calm = 0
    while calm < 3:
        async with db.read() as conn:
            busy = sum([
                (await conn.execute(sa.select(sa.func.count()).select_from(webhook_events)
                                    .where(webhook_events.c.state == "pending"))).scalar_one(),
                (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one(),
                (await conn.execute(sa.select(sa.func.count()).select_from(messages)
                                    .where(messages.c.direction == "outgoing", messages.c.status < 3))).scalar_one(),
            ])
        calm = calm + 1 if busy == 0 else 0
        assert time.monotonic() < deadline, "work still pending"
        await asyncio.sleep(0.1)
