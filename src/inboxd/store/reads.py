"""Concurrent reads of rows by key, coalesced: requests that ask while a read is being prepared
share one read transaction and one `WHERE key IN (…)` statement instead of one transaction
each (a read transaction costs more Python than the indexed lookup itself: SQLAlchemy's
connection checkout, BEGIN, ROLLBACK and return to the pool — ~14 % of a Send a Message's CPU
before this; docs/benchmarks.md).

Never staler than a read of one's own: a caller's key joins a batch whose transaction has not
begun yet, so the snapshot is taken after the caller asked. A failed read fails every caller of
its batch with the same exception."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.store.db import Database

Fetch = Callable[[AsyncConnection, list[str]], Awaitable[dict[str, Any]]]


class BatchedReads:
    def __init__(self, db: Database, fetch: Fetch) -> None:
        self.db = db
        self.fetch = fetch
        self.loop = asyncio.get_running_loop()
        self._pending: dict[str, list[asyncio.Future[Any]]] = {}
        self._running = False

    async def get(self, key: str) -> Any:
        future: asyncio.Future[Any] = self.loop.create_future()
        self._pending.setdefault(key, []).append(future)
        if not self._running:
            self._running = True
            self.loop.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            await asyncio.sleep(0)  # the callers of this turn of the loop join the batch
            while self._pending:
                batch, self._pending = self._pending, {}
                try:
                    async with self.db.read() as conn:
                        found = await self.fetch(conn, list(batch))
                except BaseException as exc:
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for key, futures in batch.items():
                    row = found.get(key)
                    for future in futures:
                        if not future.done():
                            future.set_result(row)
        finally:
            self._running = False


_READERS: weakref.WeakKeyDictionary[Database, dict[Fetch, BatchedReads]] = weakref.WeakKeyDictionary()


def batched(db: Database, fetch: Fetch) -> BatchedReads:
    """The coalescer of `fetch` on `db` for the running loop."""
    readers = _READERS.setdefault(db, {})
    reader = readers.get(fetch)
    if reader is None or reader.loop is not asyncio.get_running_loop():
        reader = readers[fetch] = BatchedReads(db, fetch)
    return reader
