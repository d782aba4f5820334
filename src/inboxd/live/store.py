"""Queries of the live event log: numbering and writing a transaction's events, reading them
back in order, the head (the last id committed), and purging past the retention."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.store.notify import channel_sql
from inboxd.store.prepared import Prepared
from inboxd.store.tables import live_cursor, live_events

NOTIFY_CHANNEL = "inboxd_live"
CURSOR = "events"  # the one row of `live_cursor`
PURGE_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """A row of the log as the streams need it: `data` is the object's JSON text."""

    id: int
    type: str
    data: str
    channel_account_id: str | None = None
    chat_id: str | None = None
    department_id: str | None = None
    agent_uid: str | None = None
    before: str | None = None  # a moved chat's `[department_id, agent_uid]` before the move (JSON)


async def reserve_ids(conn: AsyncConnection, count: int) -> int:
    """Take the next `count` ids; returns the last. The upsert locks the cursor row until this
    transaction ends, so a second writer waits here until the first has committed: ids are
    handed out, and become visible, in commit order (a reader never sees 7 while 6 is still to
    come). On PostgreSQL the same statement queues a NOTIFY with the new last id, delivered to
    the other processes when the transaction commits."""
    if conn.dialect.name == "postgresql":
        result = await conn.execute(_RESERVE_AND_NOTIFY, {"name": CURSOR, "n": count, "channel": NOTIFY_CHANNEL})
    else:
        result = await conn.execute(_RESERVE, {"name": CURSOR, "last_id": count})
    return int(result.scalar_one())


def _reserve() -> Any:
    stmt = sqlite.insert(live_cursor)
    return stmt.on_conflict_do_update(
        index_elements=["name"], set_={"last_id": live_cursor.c.last_id + stmt.excluded.last_id}
    ).returning(live_cursor.c.last_id)


# Built once: they run in every transaction that changes something an agent sees.
_RESERVE = _reserve()
_RESERVE_AND_NOTIFY = sa.text(
    "WITH taken AS ("
    " INSERT INTO live_cursor (name, last_id) VALUES (:name, :n)"
    " ON CONFLICT (name) DO UPDATE SET last_id = live_cursor.last_id + excluded.last_id"
    " RETURNING last_id)"
    f" SELECT last_id, pg_notify({channel_sql(':channel')}, last_id::text) FROM taken"
)


_INSERT = Prepared(live_events.insert())


async def insert_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await _INSERT.executemany(conn, rows)


_HEAD = sa.select(live_cursor.c.last_id).where(live_cursor.c.name == CURSOR)


async def head(conn: AsyncConnection) -> int:
    """The id of the last committed event (0 before the first)."""
    return int((await conn.execute(_HEAD)).scalar() or 0)


_COLUMNS = (
    live_events.c.id, live_events.c.type, live_events.c.data, live_events.c.channel_account_id,
    live_events.c.chat_id, live_events.c.department_id, live_events.c.agent_uid, live_events.c.before,
)
_AFTER = (
    sa.select(*_COLUMNS)
    .where(live_events.c.id > sa.bindparam("b_after", type_=sa.BigInteger))
    .order_by(live_events.c.id)
    .limit(sa.bindparam("b_limit", type_=sa.Integer))
)


async def read_after(conn: AsyncConnection, after: int, limit: int) -> list[LiveEvent]:
    """Up to `limit` events after `after`, in id order."""
    rows = await conn.execute(_AFTER, {"b_after": after, "b_limit": limit})
    return [LiveEvent(*row) for row in rows]


async def oldest(conn: AsyncConnection) -> int | None:
    return (await conn.execute(sa.select(sa.func.min(live_events.c.id)))).scalar()


async def purge(conn: AsyncConnection, *, created_before: int) -> int:
    """Delete up to `PURGE_BATCH` of the oldest events written before `created_before`. Events
    are numbered at commit with their time, so the old ones are a prefix of the ids: the first
    event young enough to keep bounds the delete (found walking the primary key from the
    start; no index on the time needed)."""
    keep = (
        sa.select(live_events.c.id)
        .where(live_events.c.created_at >= created_before)
        .order_by(live_events.c.id)
        .limit(1)
        .scalar_subquery()
    )
    first = sa.select(sa.func.min(live_events.c.id)).scalar_subquery()
    condition = sa.and_(
        live_events.c.id < sa.func.coalesce(keep, sa.select(sa.func.max(live_events.c.id) + 1).scalar_subquery()),
        live_events.c.id < first + PURGE_BATCH,
    )
    result = await conn.execute(live_events.delete().where(condition))
    return result.rowcount
