"""`GET /server/api/v2/live`: one stream of server-sent events, replayed from the log then live.

A plain ASGI response (the route returns it): the events are written as the hub hands them out,
a task watches `receive()` for the client's disconnect (so a closed tab is noticed at once, not
at the next write), and the stream ends — cleanly, after what it holds — when the hub drops it
for reading too slowly or the process stops. A client that does not read at all would block the
write for ever: `STUCK_SECONDS` after being dropped its writer is cancelled, and the server
closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.responses import Response

from inboxd.agents.sessions import SessionCache
from inboxd.live import store as live_store
from inboxd.live.access import Principal
from inboxd.live.hub import PING, LiveHub, Subscriber, frame
from inboxd.live.store import LiveEvent
from inboxd.store.db import Database

RETRY_MS = 2000  # EventSource's reconnection delay
STUCK_SECONDS = 10.0
# An agent's change (role, departments, deactivation) is an `agent.updated` event: a stream that
# sends one checks its credential again once the cached session has expired, not only at the next
# ping, so a removed department's chats stop within about a second (`api/routes/live.py`).
RECHECK_ON = b"\nevent: agent.updated\n"
RECHECK_AFTER = SessionCache.TTL_SECONDS + 0.1

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx: pass each event on at once
]


async def start_position(db: Database, after: int | None) -> tuple[int, bool]:
    """Where a stream starts: (the id after which it replays, whether the client must resync).
    No id: from now. An id the log can no longer replay from — its next event was purged past
    the retention, or it is beyond the last id (another database, a reset) — is a resync."""
    async with db.read() as conn:
        head = await live_store.head(conn)
        if after is None or after == head:
            return head, False
        if after > head:
            return head, True
        oldest = await live_store.oldest(conn)
    if oldest is None or oldest > after + 1:
        return head, True
    return after, False


def resync_frame(head: int) -> bytes:
    data = orjson.dumps({"lastEventId": head, "reason": "The events after the given id are no longer kept: "
                         "reload the lists, then apply the events after their lastEventId."})
    return frame(LiveEvent(head, "resync", data.decode()))


class LiveStream(Response):
    """The ASGI response of one stream (a `Response` so that a route can return it)."""

    PAGE = 500

    def __init__(self, db: Database, hub: LiveHub, principal: Principal, after: int, resync: bool,
                 still_valid: Callable[[], Awaitable[bool]] | None = None) -> None:
        """`after`, `resync`: from `start_position` (a resync starts at the last id).
        `still_valid`: asked at every ping; False (the token revoked, the session ended, the agent
        deactivated) ends the stream, and the client's reconnection gets its 401."""
        super().__init__(media_type="text/event-stream")
        self.db, self.hub, self.principal = db, hub, principal
        self.after, self.resync = after, resync
        self.still_valid = still_valid

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        subscriber = Subscriber(self.principal.view, self.hub.buffer)
        loop = asyncio.get_running_loop()
        pump = loop.create_task(self._pump(send, subscriber))
        watch = loop.create_task(_until_disconnect(receive))

        def cancel_if_stuck() -> None:
            loop.call_later(STUCK_SECONDS, pump.cancel)

        subscriber.on_drop = cancel_if_stuck
        try:
            await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.hub.unsubscribe(subscriber)
            for task in (pump, watch):
                task.cancel()
            for task in (pump, watch):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if watch.done() and not watch.cancelled():
            return  # the client left
        if pump.cancelled():
            return  # stuck: the server closes the connection
        pump.result()  # (raises what failed)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _pump(self, send: Any, subscriber: Subscriber) -> None:
        async def write(body: bytes) -> None:
            await send({"type": "http.response.body", "body": body, "more_body": True})

        opening = b"retry: %d\n\n" % RETRY_MS
        if self.resync:
            opening += resync_frame(self.after)
        await write(opening)
        last = self.after
        # Far behind: replay page by page before taking a place at the hub, so a long replay
        # does not fill the live buffer.
        last = await self._replay(write, last, None)
        position = await self.hub.subscribe(subscriber)
        last = await self._replay(write, last, position)
        while not subscriber.dropped or subscriber.frames:
            await subscriber.ready.wait()
            frames = subscriber.take()
            chunk = [data for event_id, data in frames if event_id > last]
            if frames:
                last = max(last, frames[-1][0])
                if self.still_valid is not None and any(RECHECK_ON in data for _, data in frames):
                    asyncio.get_running_loop().call_later(RECHECK_AFTER, subscriber.wake_for_ping)
            if subscriber.ping:
                subscriber.ping = False
                if self.still_valid is not None and not await self.still_valid():
                    return  # the credential ended: nothing more is sent on it
                chunk.append(PING)
            if chunk:
                await write(b"".join(chunk))

    async def _replay(self, write: Any, last: int, until: int | None) -> int:
        """Send the log's events after `last` (up to `until`, or to the end); returns the id
        reached."""
        view = self.principal.view
        while until is None or last < until:
            async with self.db.read() as conn:
                events = await live_store.read_after(conn, last, self.PAGE)
            if until is not None:
                events = [e for e in events if e.id <= until]
            if not events:
                return last
            chunk = [frame(e) for e in events if view is None or view.sees_event(e)]
            if chunk:
                await write(b"".join(chunk))
            last = events[-1].id
            if until is None and len(events) < self.PAGE:
                return last
        return last


async def _until_disconnect(receive: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
