"""Fan-out of the live log to the streams open in this process.

A commit of this process hands its events to the hub as it returns (`publish`, the log's
`on_commit`): when they follow the last id handed out they go to the subscribers there and then —
no read of the log, no task to wake but the streams'. Each event is encoded as a server-sent
event once and the same bytes go to every subscriber that may see it; the visibility rule runs
once per view (an agent's tabs share it), not once per stream. A stream woken by several
commits before it runs writes them in one chunk, so a busy loop batches by itself.

The log is the truth: one reader per process reads it when the events do not follow on (a
commit of another process came between — PostgreSQL's NOTIFY says so, with the new last id —
or a later local commit's hook ran first), and polls once a second (SQLite shared by several
processes has no NOTIFY; a lost notification costs at most that second). A NOTIFY of this
process's own commit reads nothing: the hub knows the ids this process numbered (`numbered`),
and their commit publishes them. After each read the reader waits
`LINGER_SECONDS`, so a burst of another process's commits shares one read.

A subscriber's buffer is bounded: one that falls `buffer` events behind (its client reads too
slowly) is dropped — its stream ends after what it already holds, and the client comes back with
the id of the last event it got and is replayed the rest from the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from typing import Protocol

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


class View(Hashable, Protocol):
    """Which events a reader sees (`agents.visibility.ChatView`); equal views see the same."""

    def sees_event(self, event: LiveEvent) -> bool: ...


class Subscriber:
    """One open stream's share of the hub: the frames queued for it, and a flag to wake it."""

    __slots__ = ("view", "limit", "frames", "ready", "dropped", "ping", "on_drop")

    def __init__(self, view: View | None, limit: int) -> None:
        self.view = view  # None: sees every event
        self.limit = limit
        self.frames: list[tuple[int, bytes]] = []
        self.ready = asyncio.Event()
        self.dropped = False
        self.ping = False
        self.on_drop: Callable[[], None] | None = None

    def offer(self, frames: list[tuple[int, bytes]]) -> bool:
        """Queue the events it may see (`frames`: each event's id and bytes, shared by every
        subscriber of its view). False when they do not all fit: it keeps what fits, in order,
        and is dropped."""
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

    def wake_for_ping(self) -> None:
        """At the next wake its stream writes a ping, checking its credential first."""
        self.ping = True
        self.ready.set()

    def take(self) -> list[tuple[int, bytes]]:
        frames, self.frames = self.frames, []
        self.ready.clear()
        return frames


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class LiveHub:
    PAGE = 1000
    LINGER_SECONDS = 0.005
    POLL_SECONDS = 1.0
    LOCAL_GRACE_SECONDS = 0.1

    def __init__(self, db: Database, *, buffer: int, ping_seconds: float) -> None:
        self.db = db
        self.buffer = buffer
        self.ping_seconds = ping_seconds
        self.subscribers: set[Subscriber] = set()
        self.position = 0  # the last id handed to the subscribers (only ever grows)
        self._local = 0  # the last id a transaction of this process numbered
        self._current = False  # whether `position` followed the log while nobody listened
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None  # the streams' (set when the first subscribes)

    def wake(self) -> None:
        self._wake.set()

    def publish(self, events: list[LiveEvent]) -> None:
        """A transaction of this process committed `events` (consecutive ids): handed out now
        when they follow the last id handed out; otherwise the reader fetches them from the log
        (and with the events between)."""
        if self._loop is not None and _running_loop() is not self._loop:
            self._loop.call_soon_threadsafe(self.publish, events)  # (a commit on another loop)
            return
        if not events or events[-1].id <= self.position:
            return  # read already (the reader got there first)
        if not self.subscribers:
            self._current = False  # the next subscriber catches up from the log's head
            return
        first = events[0].id
        if first > self.position + 1:
            self.wake()  # another process's (or a later hook's) events come first
            return
        try:
            self._hand_out(events[self.position + 1 - first :])
        except Exception:  # never the committed transaction's failure: the reader hands them out
            log.exception("handing out live events failed")
            self.wake()
            return
        self.position = events[-1].id

    def numbered(self, last: int) -> None:
        """A transaction of this process took the ids up to `last` and is about to commit: its
        NOTIFY will come back to this process too, and its `publish` hands them out."""
        self._local = max(self._local, last)

    def notified(self, payload: str) -> None:
        """PostgreSQL's NOTIFY: the last id a transaction committed (any process's). Beyond
        what the hub has handed out, the reader reads the log — at once for another process's
        ids; for this process's own (up to the last it numbered) only if they were not
        published `LOCAL_GRACE_SECONDS` later (its commit failed, and another process's took
        the same ids)."""
        try:
            last = int(payload)
        except ValueError:
            self.wake()
            return
        if last <= self.position:
            return
        if last > self._local or self._loop is None:
            self.wake()
        else:
            self._loop.call_later(self.LOCAL_GRACE_SECONDS, self._wake_unless_past, last)

    def _wake_unless_past(self, last: int) -> None:
        if last > self.position:
            self.wake()

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
        loop = self._loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._run()))
        self._tasks.append(
            loop.create_task(listen(self.db, live_store.NOTIFY_CHANNEL, self.notified, self._stop, with_payload=True))
        )

    async def aclose(self) -> None:
        self._stop.set()
        self._wake.set()
        for subscriber in list(self.subscribers):  # their streams end; clients reconnect elsewhere
            subscriber.dropped = True
            subscriber.ready.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._loop = None

    async def _run(self) -> None:
        next_ping = time.monotonic() + self.ping_seconds
        while not self._stop.is_set():
            timeout = max(0.0, min(self.POLL_SECONDS, next_ping - time.monotonic()))
            try:
                async with asyncio.timeout(timeout):  # (no task of its own, unlike wait_for)
                    await self._wake.wait()
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
                    subscriber.wake_for_ping()
            await asyncio.sleep(self.LINGER_SECONDS)

    async def _read(self) -> None:
        if not self.subscribers:
            self._current = False
            return
        while True:
            async with self.db.read() as conn:
                events = await live_store.read_after(conn, self.position, self.PAGE)
            fresh = [event for event in events if event.id > self.position]  # (not published meanwhile)
            if fresh:
                self._hand_out(fresh)
                self.position = fresh[-1].id
            if len(events) < self.PAGE:
                return

    def _hand_out(self, events: list[LiveEvent]) -> None:
        frames = [(event.id, frame(event)) for event in events]
        by_view: dict[View | None, list[tuple[int, bytes]]] = {None: frames}
        for subscriber in list(self.subscribers):
            view = subscriber.view
            mine = by_view.get(view)
            if mine is None:
                assert view is not None  # (None, every event: the first entry)
                mine = by_view[view] = [f for event, f in zip(events, frames, strict=True) if view.sees_event(event)]
            if not subscriber.offer(mine):
                metrics.live_streams_dropped.inc()
                self.unsubscribe(subscriber)
