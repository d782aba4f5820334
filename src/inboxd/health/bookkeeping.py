"""The per-account row channel health keeps between signals (`channel_health_signals`).

Webhook silence: `last_webhook_at` is when a webhook for the account was last processed, and
`unanswered_send_at` the first successful send that no webhook has followed yet. Both sit on hot
paths (every recorded send, every processed webhook), so each is written at most about once a
minute per account in steady traffic: a send is only noted when no webhook came in the last
`resolution_ms` (a minute, or a tenth of the silence threshold when that is shorter) and none is
noted yet, and a webhook only writes when a send is noted or its last write is that old. The
statements that change nothing take no row lock on PostgreSQL. The price is a minute of
resolution on a threshold counted in hours.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.store.tables import channel_accounts
from inboxd.store.tables import channel_health_signals as S

RESOLUTION_MS = 60_000


def resolution_ms(silence_ms: int) -> int:
    return max(1, min(RESOLUTION_MS, silence_ms // 10))


async def ensure_rows(conn: AsyncConnection, now: int) -> None:
    """A row for every account (accounts are created with one; this covers any made otherwise)."""
    missing = sa.select(channel_accounts.c.id, sa.literal(now, sa.BigInteger)).where(
        ~sa.exists().where(S.c.channel_account_id == channel_accounts.c.id)
    )
    await conn.execute(S.insert().from_select(["channel_account_id", "quality_check_due_at"], missing))


async def note_sends(conn: AsyncConnection, channel_account_ids: list[str], now: int, resolution: int) -> None:
    await conn.execute(
        S.update()
        .where(
            S.c.channel_account_id.in_(channel_account_ids),
            S.c.unanswered_send_at.is_(None),
            sa.or_(S.c.last_webhook_at.is_(None), S.c.last_webhook_at < now - resolution),
        )
        .values(unanswered_send_at=now)
    )


async def note_webhooks(conn: AsyncConnection, channel_account_ids: list[str], now: int, resolution: int) -> list[str]:
    """The accounts whose row this changed (a webhook silence problem of theirs may be over)."""
    result = await conn.execute(
        S.update()
        .where(
            S.c.channel_account_id.in_(channel_account_ids),
            sa.or_(
                S.c.unanswered_send_at.is_not(None),
                S.c.last_webhook_at.is_(None),
                S.c.last_webhook_at < now - resolution,
            ),
        )
        .values(last_webhook_at=now, unanswered_send_at=None)
        .returning(S.c.channel_account_id)
    )
    return sorted(result.scalars())


async def silent_since(conn: AsyncConnection, now: int, silence_ms: int) -> list[tuple[str, int]]:
    """(account, its first unanswered send) for the accounts silent for longer than `silence_ms`."""
    query = sa.select(S.c.channel_account_id, S.c.unanswered_send_at).where(
        S.c.unanswered_send_at.is_not(None), S.c.unanswered_send_at <= now - silence_ms
    )
    return [(r[0], r[1]) for r in await conn.execute(query)]


async def still_silent(conn: AsyncConnection, channel_account_id: str, now: int, silence_ms: int) -> bool:
    """Inside the transaction that raises the silence warning: the account is silent still (a
    webhook processed since the check would have cleared the noted send). On PostgreSQL the row
    stays locked until commit, so a webhook's update waits and then resolves what was raised."""
    query = sa.select(S.c.channel_account_id).where(
        S.c.channel_account_id == channel_account_id,
        S.c.unanswered_send_at.is_not(None),
        S.c.unanswered_send_at <= now - silence_ms,
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await conn.execute(query)).first() is not None


async def request_quality_check(conn: AsyncConnection, channel_account_ids: list[str], now: int) -> None:
    await conn.execute(
        S.update().where(S.c.channel_account_id.in_(channel_account_ids)).values(quality_check_due_at=now)
    )


async def any_quality_check_due(conn: AsyncConnection, now: int) -> bool:
    return (await conn.execute(sa.select(S.c.channel_account_id).where(S.c.quality_check_due_at <= now).limit(1))).first() is not None


async def claim_quality_checks(conn: AsyncConnection, now: int, interval_ms: int, retry_ms: int) -> list[str]:
    """The accounts whose quality reading is due, each taken by one process: the next reading is
    moved `retry_ms` ahead (in case this one fails) and to `interval_ms` once it succeeded."""
    result = await conn.execute(
        S.update()
        .where(S.c.quality_check_due_at <= now)
        .values(quality_check_due_at=now + min(retry_ms, interval_ms))
        .returning(S.c.channel_account_id)
    )
    return sorted(result.scalars())


async def record_quality(conn: AsyncConnection, channel_account_id: str, rating: str | None, next_due: int) -> None:
    await conn.execute(
        S.update()
        .where(S.c.channel_account_id == channel_account_id)
        .values(quality_rating=rating, quality_check_due_at=next_due)
    )
