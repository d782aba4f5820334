"""Fan-out of the live log to the streams open in this process.

One reader per process follows the log: woken after a local commit that wrote events (the log's
`on_commit`) or by PostgreSQL's NOTIFY from another process (which carries only the new last id:
the rows are the truth), and otherwise polling once a second (SQLite shared by several
processes has no NOTIFY; a lost notification costs at most that second). It reads the new rows
once, encodes each as a server-sent event once, and hands the same bytes to every subscriber
that may see it. After each read it waits `LINGER_SECONDS`, so under load the commits of a few
milliseconds share one read and one wake-up of each stream.

A subscriber's buffer is bounded: one that falls `buffer` events behind (its client reads too
slowly) is dropped — its stream ends after what it already holds, and the client comes back with
the id of the last event it got and is replayed the rest from the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from inboxd import metrics
from inboxd.delivery.listener import listen
from inboxd.live import store as live_store
from inboxd.live.store import LiveEvent
from inboxd.store.db import Database

log = logging.getLogger(__name__)

PING = b": ping\n\n"


def frame(event: LiveEvent) -> bytes:
    """One server-sent event: `id:`, `event:` (the type), `data:` (the object's JSON, one line)."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.id, event.type.encode(), event.data.encode())


class Subscriber:
    """One open stream's share of the hub: the frames queued for it, and a flag to wake it."""

    __slots__ = ("visible", "limit", "frames", "ready", "dropped", "ping", "on_drop")

    def __init__(self, visible: Callable[[LiveEvent], bool] | None, limit: int) -> None:
        self.visible = visible  # None: sees every event
        self.limit = limit
        self.frames: list[tuple[int, bytes]] = []
        self.ready = asyncio.Event()
        self.dropped = False
        self.ping = False
        self.on_drop: Callable[[], None] | None = None

    def offer(self, events: list[LiveEvent], frames: list[tuple[int, bytes]]) -> bool:
        """Queue the events it may see (`frames`: each event's id and bytes, shared by every
        subscriber). False when they do not all fit: it keeps what fits, in order, and is
        dropped."""
        if self.visible is not None:
            frames = [f for event, f in zip(events, frames, strict=True) if self.visible(event)]
            if not frames:
                return True
        room = self.limit - len(self.frames)
        fits = len(frames) <= room
        self.frames.extend(frames if fits else frames[: max(room, 0)])
        self.ready.set()
        if not fits:
            self.dropped = True
            if self.on_drop is not None:
                self.on_drop()
        return fits

    def take(self) -> list[tuple[int, bytes]]:
        frames, self.frames = self.frames, []
        self.ready.clear()
        return frames


class LiveHub:
    PAGE = 1000
    LINGER_SECONDS = 0.005
    POLL_SECONDS = 1.0

    def __init__(self, db: Database, *, buffer: int, ping_seconds: float) -> None:
        self.db = db
        self.buffer = buffer
        self.ping_seconds = ping_seconds
        self.subscribers: set[Subscriber] = set()
        self.position = 0  # the last id handed to the subscribers (only ever grows)
        self._current = False  # whether `position` followed the log while nobody listened
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()

    async def subscribe(self, subscriber: Subscriber) -> int:
        """Add a subscriber; returns the position from which the hub hands it events (every
        event with a greater id). The caller replays what lies before from the log."""
        self._start()
        if not self._current:  # the reader skips reads while nobody listens: catch up first
            async with self._lock:
                if not self._current:
                    async with self.db.read() as conn:
                        self.position = max(self.position, await live_store.head(conn))
                    self._current = True
        self.subscribers.add(subscriber)
        metrics.live_streams.set(len(self.subscribers))
        return self.position

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        metrics.live_streams.set(len(self.subscribers))

    def _start(self) -> None:
        if self._tasks:
            return
        self._stop.clear()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._run()))
        self._tasks.append(loop.create_task(listen(self.db, live_store.NOTIFY_CHANNEL, self.wake, self._stop)))

    async def aclose(self) -> None:
        self._stop.set()
        self._wake.set()
        for subscriber in list(self.subscribers):  # their streams end; clients reconnect elsewhere
            subscriber.dropped = True
            subscriber.ready.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _run(self) -> None:
        next_ping = time.monotonic() + self.ping_seconds
        while not self._stop.is_set():
            timeout = max(0.0, min(self.POLL_SECONDS, next_ping - time.monotonic()))
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._read()
            except Exception:  # the database is away: try again at the next wake or poll
                log.warning("reading the live event log failed; retrying", exc_info=True)
            if time.monotonic() >= next_ping:
                next_ping = time.monotonic() + self.ping_seconds
                for subscriber in self.subscribers:
                    subscriber.ping = True
                    subscriber.ready.set()
            await asyncio.sleep(self.LINGER_SECONDS)

    async def _read(self) -> None:
        if not self.subscribers:
            self._current = False
            return
        while True:
            async with self.db.read() as conn:
                events = await live_store.read_after(conn, self.position, self.PAGE)
            if events:
                self._hand_out(events)
                self.position = max(self.position, events[-1].id)
            if len(events) < self.PAGE:
                return

    def _hand_out(self, events: list[LiveEvent]) -> None:
        frames = [(event.id, frame(event)) for event in events]
        for subscriber in list(self.subscribers):
            if not subscriber.offer(events, frames):
                metrics.live_streams_dropped.inc()
                self.unsubscribe(subscriber)
