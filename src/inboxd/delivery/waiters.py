"""Letting a Send a Message request wait (bounded) for the channel's answer.

A worker in this process resolves the waiter at once; a message delivered by a worker in
another process is noticed by looking at the outbox every `POLL_SECONDS`.
"""

from __future__ import annotations

import asyncio
import time

from inboxd.store import outbox as outbox_store
from inboxd.store.db import Database


class DeliveryWaiters:
    POLL_SECONDS = 0.1

    def __init__(self, db: Database) -> None:
        self.db = db
        self._events: dict[str, asyncio.Event] = {}

    def expect(self, message_ids: list[str]) -> None:
        """Register before the messages are committed, so an answer that comes back before the
        request starts waiting is not missed."""
        for mid in message_ids:
            self._events.setdefault(mid, asyncio.Event())

    def forget(self, message_ids: list[str]) -> None:
        for mid in message_ids:
            self._events.pop(mid, None)

    def resolve(self, message_id: str) -> None:
        event = self._events.get(message_id)
        if event is not None:
            event.set()

    async def wait(self, message_ids: list[str], timeout: float) -> bool:
        """True when every message has left the outbox (sent or finally failed) in time."""
        events = {mid: self._events.setdefault(mid, asyncio.Event()) for mid in message_ids}
        deadline = time.monotonic() + timeout
        try:
            while True:
                waiting = [mid for mid, ev in events.items() if not ev.is_set()]
                if not waiting:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                try:
                    await asyncio.wait_for(events[waiting[0]].wait(), timeout=min(left, self.POLL_SECONDS))
                    continue
                except TimeoutError:
                    pass
                async with self.db.read() as conn:
                    still = await outbox_store.pending_for(conn, waiting)
                for mid in waiting:
                    if mid not in still:
                        events[mid].set()
        finally:
            self.forget(message_ids)
