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
    """One poller for all the waiting requests of the process: every `POLL_SECONDS` it asks
    the outbox about every message still waited for in one query (it used to be one query per
    waiting request, which under load cost more than the sends themselves)."""

    POLL_SECONDS = 0.1

    def __init__(self, db: Database) -> None:
        self.db = db
        self._events: dict[str, asyncio.Event] = {}
        self._waiting: dict[str, int] = {}  # message id -> waits in progress
        self._poller: asyncio.Task[None] | None = None

    def expect(self, message_ids: list[str]) -> None:
        """Register before the messages are committed, so an answer that comes back before the
        request starts waiting is not missed."""
        for mid in message_ids:
            self._events.setdefault(mid, asyncio.Event())

    def forget(self, message_ids: list[str]) -> None:
        for mid in message_ids:
            if mid not in self._waiting:
                self._events.pop(mid, None)

    def resolve(self, message_id: str) -> None:
        event = self._events.get(message_id)
        if event is not None:
            event.set()

    async def wait(self, message_ids: list[str], timeout: float) -> bool:  # noqa: ASYNC109
        """True when every message has left the outbox (sent or finally failed) in time."""
        events = {mid: self._events.setdefault(mid, asyncio.Event()) for mid in message_ids}
        for mid in message_ids:
            self._waiting[mid] = self._waiting.get(mid, 0) + 1
        self._ensure_poller()
        deadline = time.monotonic() + timeout
        try:
            for event in events.values():
                left = deadline - time.monotonic()
                if event.is_set():
                    continue
                if left <= 0:
                    return False
                try:
                    await asyncio.wait_for(event.wait(), timeout=left)
                except TimeoutError:
                    return False
            return True
        finally:
            for mid in message_ids:
                count = self._waiting.get(mid, 0) - 1
                if count > 0:
                    self._waiting[mid] = count
                else:
                    self._waiting.pop(mid, None)
            self.forget(message_ids)

    def _ensure_poller(self) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        """Notice messages delivered by workers in other processes."""
        while self._waiting:
            await asyncio.sleep(self.POLL_SECONDS)
            waiting = [mid for mid in self._waiting if not (ev := self._events.get(mid)) or not ev.is_set()]
            if not waiting:
                continue
            try:
                still: set[str] = set()
                async with self.db.read() as conn:
                    for start in range(0, len(waiting), 500):
                        still |= await outbox_store.pending_for(conn, waiting[start : start + 500])
            except Exception:  # a failed look is retried at the next tick
                continue
            for mid in waiting:
                if mid not in still:
                    self.resolve(mid)
