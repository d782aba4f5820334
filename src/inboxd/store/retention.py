"""Deleting what has served its purpose: processed webhook bodies past their retention,
idempotency keys past their 24 hours, statuses that never found their message."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.store.tables import idempotency_keys, unmatched_statuses, webhook_events

BATCH = 5_000  # rows per statement: keeps each write transaction short


async def _delete_batch(conn: AsyncConnection, table: sa.Table, key: sa.Column, condition: sa.ColumnElement[bool]) -> int:
    ids = sa.select(key).where(condition).limit(BATCH).scalar_subquery()
    result = await conn.execute(table.delete().where(key.in_(ids)))
    return result.rowcount


async def purge_webhook_events(conn: AsyncConnection, *, processed_before: int) -> int:
    """Processed raw webhooks older than the retention (pending ones are never purged)."""
    return await _delete_batch(
        conn,
        webhook_events,
        webhook_events.c.id,
        sa.and_(webhook_events.c.state == "done", webhook_events.c.processed_at < processed_before),
    )


async def purge_idempotency_keys(conn: AsyncConnection, *, created_before: int) -> int:
    result = await conn.execute(idempotency_keys.delete().where(idempotency_keys.c.created_at < created_before))
    return result.rowcount


async def purge_unmatched_statuses(conn: AsyncConnection, *, received_before: int) -> int:
    result = await conn.execute(unmatched_statuses.delete().where(unmatched_statuses.c.received_at < received_before))
    return result.rowcount
