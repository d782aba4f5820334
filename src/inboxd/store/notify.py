"""PostgreSQL NOTIFY channels, one set per deployment.

inboxd's processes wake each other with NOTIFY (the outbox, event deliveries, the live log, an
account changed); the rows are the truth, a notification only says "look". Channels are
database-wide, not per schema, so two deployments in one database (`INBOXD_DATABASE_SCHEMA`)
would wake each other — and the live hub, which takes a NOTIFY's id as another process's commit,
would read the log for nothing. A channel's name therefore carries a digest of the connection's
`search_path` (which `INBOXD_DATABASE_SCHEMA` sets): every process of one deployment computes the
same name, on the notifying side and on the listening side, from the one expression below.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


def channel_sql(placeholder: str) -> str:
    """The SQL of a channel's name for this connection's deployment, from the base name bound to
    `placeholder` (`:channel` for SQLAlchemy text, `$1` for asyncpg)."""
    return f"(CAST({placeholder} AS text) || '.' || left(md5(current_setting('search_path')), 12))"


_NOTIFY = sa.text(f"SELECT pg_notify({channel_sql(':channel')}, :payload)")


async def notify(conn: AsyncConnection, channel: str, payload: str = "") -> None:
    """Queue a NOTIFY on `channel` (delivered when the transaction commits); PostgreSQL only."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_NOTIFY, {"channel": channel, "payload": payload})
