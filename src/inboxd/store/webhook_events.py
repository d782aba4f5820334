"""Raw inbound webhook events: stored before the 200, processed after, retried until done."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.ids import new_id
from inboxd.store.tables import webhook_events

PENDING, DONE = "pending", "done"


async def add_event(conn: AsyncConnection, channel: str, body: bytes, now: int) -> str:
    event_id = new_id()
    await conn.execute(
        webhook_events.insert().values(
            id=event_id, channel=channel, body=body, received_at=now, state=PENDING, attempts=0, next_attempt_at=now
        )
    )
    return event_id


async def claim_due(conn: AsyncConnection, *, now: int, lease_ms: int, limit: int) -> list[sa.RowMapping]:
    """Lease up to `limit` due events (pending, retry time reached, no live lease). Another
    process can take them over once the lease runs out."""
    query = (
        sa.select(webhook_events.c.id)
        .where(
            webhook_events.c.state == PENDING,
            webhook_events.c.next_attempt_at <= now,
            sa.or_(webhook_events.c.lease_until.is_(None), webhook_events.c.lease_until < now),
        )
        .order_by(webhook_events.c.next_attempt_at, webhook_events.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list((await conn.execute(query)).scalars())
    if not ids:
        return []
    result = await conn.execute(
        webhook_events.update()
        .where(webhook_events.c.id.in_(ids))
        .values(lease_until=now + lease_ms, attempts=webhook_events.c.attempts + 1)
        .returning(*webhook_events.c)
    )
    return sorted(result.mappings(), key=lambda r: r["id"])


async def mark_done(conn: AsyncConnection, event_id: str, now: int) -> None:
    await conn.execute(
        webhook_events.update()
        .where(webhook_events.c.id == event_id)
        .values(state=DONE, processed_at=now, lease_until=None, last_error=None)
    )


async def mark_retry(conn: AsyncConnection, event_id: str, *, next_attempt_at: int, error: str) -> None:
    await conn.execute(
        webhook_events.update()
        .where(webhook_events.c.id == event_id)
        .values(next_attempt_at=next_attempt_at, lease_until=None, last_error=error[:2000])
    )


async def release(conn: AsyncConnection, leases: dict[str, int]) -> None:
    """Give back claimed events not processed (shutdown): the lease cleared, the attempt not
    counted. `leases` maps each event to the lease this process got for it (`claim_due`'s
    `lease_until`): an event whose lease ran out and was claimed again by another is left alone."""
    for event_id, lease_until in sorted(leases.items()):
        await conn.execute(
            webhook_events.update()
            .where(
                webhook_events.c.id == event_id,
                webhook_events.c.state == PENDING,
                webhook_events.c.lease_until == lease_until,
            )
            .values(lease_until=None, attempts=webhook_events.c.attempts - 1)
        )


async def count_by_state(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(sa.select(webhook_events.c.state, sa.func.count()).group_by(webhook_events.c.state))
    return {state: n for state, n in rows}
