"""The delivery outbox: rows committed with their messages, claimed by workers with leases.

A row is due when its time has come, no live lease holds it, and no earlier row of the same
chat is still in the outbox: each chat is delivered one message at a time, in acceptance
(sequence) order. Rows are deleted once the channel has answered for good.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.store.notify import notify
from inboxd.store.prepared import Prepared
from inboxd.store.tables import channel_accounts, chats, messages, outbox, send_pacing
from inboxd.store.upsert import insert_for

NOTIFY_CHANNEL = "inboxd_outbox"


_INSERT = Prepared(outbox.insert())


async def enqueue(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows (every row with the same columns)."""
    await _INSERT.executemany(conn, rows)
    await notify(conn, NOTIFY_CHANNEL)  # wake workers in other processes (delivered on commit)


def _earlier_in_chat() -> sa.Exists:
    earlier = outbox.alias("earlier")
    return sa.exists().where(earlier.c.chat_id == outbox.c.chat_id, earlier.c.seq < outbox.c.seq)


async def claim_due(
    conn: AsyncConnection, *, owner: str, now: int, lease_ms: int, doubt_grace_ms: int, limit: int
) -> list[dict[str, Any]]:
    """Lease up to `limit` due rows, each the head of its chat. A row whose previous lease ran
    out with its owner still set was being sent by a worker that died: whether the channel got
    it is unknown, so instead of sending it again at once it waits `doubt_grace_ms` for the
    channel's status webhook to tell (see `messages.apply_status_report`)."""
    query = (
        sa.select(outbox.c.id, outbox.c.lease_owner)
        .where(
            outbox.c.due_at <= now,
            sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
            sa.not_(_earlier_in_chat()),
        )
        .order_by(outbox.c.due_at, outbox.c.seq)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=outbox, skip_locked=True)
    found = (await conn.execute(query)).all()
    in_doubt = [r.id for r in found if r.lease_owner is not None]
    fresh = [r.id for r in found if r.lease_owner is None]
    if in_doubt:
        await conn.execute(
            outbox.update()
            .where(outbox.c.id.in_(in_doubt))
            .values(lease_owner=None, lease_until=None, due_at=now + doubt_grace_ms,
                    last_error={"message": "the worker sending this message stopped; waiting for the channel's word"})
        )
    if not fresh:
        return []
    await conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(fresh))
        .values(lease_owner=owner, lease_until=now + lease_ms, attempts=outbox.c.attempts + 1)
    )
    detail = (
        sa.select(
            outbox.c.id.label("outbox_id"),
            outbox.c.attempts,
            outbox.c.next_gap_ms,
            messages,
            chats.c.contact_id,
            channel_accounts.c.mps,
        )
        .join(messages, messages.c.id == outbox.c.message_id)
        .join(chats, chats.c.id == outbox.c.chat_id)
        .join(channel_accounts, channel_accounts.c.id == outbox.c.channel_account_id)
        .where(outbox.c.id.in_(fresh))
        .order_by(outbox.c.due_at, outbox.c.seq)
    )
    rows = [dict(r) for r in (await conn.execute(detail)).mappings()]
    by_account: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_account.setdefault(row["channel_account_id"], []).append(row)
    # Pacing rows are locked in one order (by account) by every claim: two processes claiming
    # rows of the same accounts cannot deadlock on them (PostgreSQL did, found by the benchmark).
    for account_id, group in sorted(by_account.items()):
        slots = await reserve_send_slots(conn, account_id, mps=group[0]["mps"], now_us=now * 1000, count=len(group))
        for row, slot in zip(group, slots, strict=True):
            row["slot_us"] = slot
    return rows


async def finish(conn: AsyncConnection, outbox_id: str, owner: str) -> bool:
    """Remove the row once the channel has answered for good. Also when our lease ran out and
    the row went back to waiting (we know the outcome now), but not when another worker holds
    it: then that worker finishes it. False when the row is gone or held by another."""
    result = await conn.execute(
        outbox.delete().where(
            outbox.c.id == outbox_id, sa.or_(outbox.c.lease_owner == owner, outbox.c.lease_owner.is_(None))
        )
    )
    return result.rowcount == 1


async def delay_next(conn: AsyncConnection, rows: list[dict[str, Any]], now: int) -> None:
    """Rows that just left the outbox and carry a `next_gap_ms` (a quick reply's
    `betweenMessagesDelay`): the chat's next message becomes due that long from now. It could
    not be claimed before (it was not the head of its chat), so the gap holds however long this
    one took, and it is committed with this row's removal, so it survives a crash."""
    for row in rows:
        gap = row.get("next_gap_ms")
        if not gap:
            continue
        later = outbox.alias("later")
        following = (
            sa.select(sa.func.min(later.c.seq))
            .where(later.c.chat_id == row["chat_id"], later.c.seq > row["seq"])
            .scalar_subquery()
        )
        await conn.execute(
            outbox.update()
            .where(outbox.c.chat_id == row["chat_id"], outbox.c.seq == following, outbox.c.due_at < now + gap)
            .values(due_at=now + gap)
        )


async def reschedule(
    conn: AsyncConnection, outbox_id: str, owner: str, *, due_at: int, error: dict[str, Any] | None
) -> bool:
    result = await conn.execute(
        outbox.update()
        .where(outbox.c.id == outbox_id, outbox.c.lease_owner == owner)
        .values(due_at=due_at, lease_owner=None, lease_until=None, last_error=error)
    )
    return result.rowcount == 1


async def release(conn: AsyncConnection, outbox_id: str, owner: str, *, in_doubt_until: int | None) -> bool:
    """Give back a row this worker holds (shutdown): due at once, the attempt not counted; or, when
    the call to the channel may have gone out, due after the doubt grace (`in_doubt_until`), like
    a dead worker's row, so the status webhook can tell first. Another process is woken for it."""
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
    if in_doubt_until is None:
        values["attempts"] = outbox.c.attempts - 1  # it was due when claimed, and still is
    else:
        values.update(
            due_at=in_doubt_until,
            last_error={"message": "the worker sending this message shut down; waiting for the channel's word"},
        )
    result = await conn.execute(
        outbox.update().where(outbox.c.id == outbox_id, outbox.c.lease_owner == owner).values(**values)
    )
    if result.rowcount:
        await notify(conn, NOTIFY_CHANNEL)
    return result.rowcount == 1


async def drop_for_message(conn: AsyncConnection, message_id: str) -> None:
    await conn.execute(outbox.delete().where(outbox.c.message_id == message_id))


async def pending_for(conn: AsyncConnection, message_ids: list[str]) -> set[str]:
    query = sa.select(outbox.c.message_id).where(outbox.c.message_id.in_(message_ids))
    return set((await conn.execute(query)).scalars())


async def count_pending(conn: AsyncConnection) -> int:
    return (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one()


async def next_due_at(conn: AsyncConnection) -> int | None:
    return (await conn.execute(sa.select(sa.func.min(outbox.c.due_at)))).scalar()


async def reserve_send_slots(
    conn: AsyncConnection, channel_account_id: str, *, mps: int, now_us: int, count: int = 1
) -> list[int]:
    """The times (µs) at which this sender may make its next `count` calls to the channel: one
    slot every 1/mps seconds per account, shared by every worker process through this row, so
    the account's throughput cap holds however many workers run."""
    interval = -(-1_000_000 // mps)
    await conn.execute(
        insert_for(conn, send_pacing)
        .values(channel_account_id=channel_account_id, next_slot_us=now_us)
        .on_conflict_do_nothing()
    )
    start = sa.case((send_pacing.c.next_slot_us > now_us, send_pacing.c.next_slot_us), else_=now_us)
    result = await conn.execute(
        send_pacing.update()
        .where(send_pacing.c.channel_account_id == channel_account_id)
        .values(next_slot_us=start + interval * count)
        .returning(send_pacing.c.next_slot_us)
    )
    first = result.scalar_one() - interval * count
    return [first + i * interval for i in range(count)]


async def finish_many(conn: AsyncConnection, outbox_ids: list[str], owner: str) -> None:
    """`finish` for many rows in one statement."""
    for start in range(0, len(outbox_ids), 500):
        await conn.execute(
            outbox.delete().where(
                outbox.c.id.in_(outbox_ids[start : start + 500]),
                sa.or_(outbox.c.lease_owner == owner, outbox.c.lease_owner.is_(None)),
            )
        )
