"""The live streams agents hold open (`agent_streams`), for presence from streams
(agents/presence.py): one row per stream, in whichever process serves it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.ids import new_id
from inboxd.store.tables import agent_streams as S


async def open_stream(conn: AsyncConnection, agent_uid: str, now: int) -> str:
    stream_id = new_id()
    await conn.execute(S.insert().values(id=stream_id, agent_uid=agent_uid, opened_at=now, seen_at=now))
    return stream_id


async def close_stream(conn: AsyncConnection, stream_id: str, now: int) -> None:
    await conn.execute(S.update().where(S.c.id == stream_id).values(closed_at=now, seen_at=now))


async def still_open(conn: AsyncConnection, stream_ids: list[str], now: int) -> None:
    """This process's open streams are alive (the heartbeat)."""
    if stream_ids:
        await conn.execute(S.update().where(S.c.id.in_(stream_ids), S.c.closed_at.is_(None)).values(seen_at=now))


def _streaming(*, stale_before: int, closed_before: int) -> sa.ColumnElement[bool]:
    """A row that keeps its agent online: open and heard from lately, or closed within the grace."""
    return sa.or_(sa.and_(S.c.closed_at.is_(None), S.c.seen_at >= stale_before), S.c.closed_at >= closed_before)


async def is_streaming(conn: AsyncConnection, agent_uid: str, *, stale_before: int, closed_before: int) -> bool:
    query = sa.select(S.c.id).where(S.c.agent_uid == agent_uid,
                                    _streaming(stale_before=stale_before, closed_before=closed_before)).limit(1)
    return (await conn.execute(query)).first() is not None


async def gone_agents(conn: AsyncConnection, *, stale_before: int, closed_before: int) -> list[str]:
    """Agents that have rows, none of which keeps them online any more."""
    query = sa.select(S.c.agent_uid).group_by(S.c.agent_uid).having(
        sa.func.max(sa.case((_streaming(stale_before=stale_before, closed_before=closed_before), 1), else_=0)) == 0)
    return sorted((await conn.execute(query)).scalars())


async def forget(conn: AsyncConnection, agent_uid: str) -> None:
    """An agent's rows, once they no longer keep them online."""
    await conn.execute(S.delete().where(S.c.agent_uid == agent_uid))
