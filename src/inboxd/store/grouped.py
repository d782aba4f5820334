"""Group commit for small independent writes: the writes that arrive while the database is busy
with the previous group go into the next transaction together, each caller returning once that
transaction committed (the commit still comes before the answer). A group that fails is
retried one write per transaction, so one bad write fails alone. (The send path's accept has
its own group, delivery/accept.py, which also numbers messages per chat.)"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.store.db import Database

WriteMany = Callable[[AsyncConnection, list[Any]], Awaitable[list[Any]]]


class GroupedWrites:
    MAX = 256

    def __init__(self, db: Database, write_many: WriteMany, *, urgent: bool) -> None:
        self.db = db
        self.write_many = write_many
        self.urgent = urgent
        self.loop = asyncio.get_running_loop()
        self._pending: list[tuple[Any, asyncio.Future[Any]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: Any) -> Any:
        """`write_many(conn, [item, …])`'s result for `item`, once committed."""
        future: asyncio.Future[Any] = self.loop.create_future()
        # Counted as an urgent write from now on (SQLite: the processor lets waiting ones go first).
        ticket = self.db.urgent_waiting() if self.urgent and not self.db.is_postgres else None
        self._pending.append((item, future))
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._run())
        try:
            return await future
        finally:
            if ticket is not None:
                self.db.urgent_started(ticket)

    async def _run(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.MAX], self._pending[self.MAX :]
            try:
                results = await self._write([item for item, _ in batch])
            except Exception:
                for item, future in batch:  # each on its own: one bad write fails alone
                    try:
                        (result,) = await self._write([item])
                    except Exception as exc:
                        if not future.done():
                            future.set_exception(exc)
                    else:
                        if not future.done():
                            future.set_result(result)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _write(self, items: list[Any]) -> list[Any]:
        async with self.db.write(urgent=self.urgent) as conn:
            return await self.write_many(conn, items)


_GROUPS: weakref.WeakKeyDictionary[Database, dict[WriteMany, GroupedWrites]] = weakref.WeakKeyDictionary()


def grouped(db: Database, write_many: WriteMany, *, urgent: bool = False) -> GroupedWrites:
    """The group of `write_many` on `db` for the running loop."""
    groups = _GROUPS.setdefault(db, {})
    group = groups.get(write_many)
    if group is None or group.loop is not asyncio.get_running_loop():
        group = groups[write_many] = GroupedWrites(db, write_many, urgent=urgent)
    return group
