"""The shared token buckets: a process takes a few units at once (a lease) in one short
transaction; the row lock (PostgreSQL `FOR UPDATE`; SQLite's single writer) makes concurrent
leases from several processes add up to no more than the bucket holds."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.rate_limits import Policy
from inboxd.store.tables import rate_limit_buckets
from inboxd.store.upsert import insert_for

t = rate_limit_buckets


async def take(conn: AsyncConnection, principal: str, policy: Policy, units: int, now: int) -> tuple[int, float]:
    """Take up to `units` from the principal's bucket (refilled to `now`, epoch ms): the units
    granted and the level left. A bucket seen for the first time is full."""
    select = sa.select(t.c.level, t.c.updated_at).where(t.c.principal == principal).with_for_update()
    row = (await conn.execute(select)).first()
    if row is None:
        await conn.execute(
            insert_for(conn, t).values(principal=principal, level=float(policy.burst), updated_at=now)
            .on_conflict_do_nothing(index_elements=[t.c.principal])
        )
        row = (await conn.execute(select)).one()
    # Clocks of several hosts differ a little: never count time backwards.
    updated = max(now, row.updated_at)
    level = policy.refill(row.level, (updated - row.updated_at) / 1000)
    granted = min(units, int(level))
    level -= granted
    await conn.execute(t.update().where(t.c.principal == principal).values(level=level, updated_at=updated))
    return granted, level


async def purge_idle(conn: AsyncConnection, *, updated_before: int) -> int:
    """Buckets untouched since then (long full again: a missing bucket counts as full)."""
    result = await conn.execute(t.delete().where(t.c.updated_at < updated_before))
    return result.rowcount
