"""The token cache: requests that find its answer expired share one read of the token."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

from inboxd.api.auth import TokenCache
from inboxd.domain.scopes import Scope
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database


async def test_concurrent_lookups_share_one_read(db: Database) -> None:
    async with db.write() as conn:
        secret, record = await tokens_store.create_token(conn, "bench", [Scope.SEND_SESSION_MESSAGE])
    reads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "api_tokens" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    engine = db._reader.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        cache = TokenCache(db)
        found = await asyncio.gather(*(cache.lookup(secret) for _ in range(50)))
        assert [f.id if f else None for f in found] == [record.id] * 50
        assert len(reads) == 1
        cache._answers.clear()  # expired: the next wave reads once more, and once only
        await asyncio.gather(*(cache.lookup(secret) for _ in range(50)))
        assert len(reads) == 2
        assert await cache.lookup("inboxd_not-a-token") is None
        assert len(reads) == 3
    finally:
        event.remove(engine, "before_cursor_execute", count)
