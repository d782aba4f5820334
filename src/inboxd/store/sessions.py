"""Agents' browser sessions and failed sign-ins (docs/sign-in.md). A session row holds the
SHA-256 of its cookie's secret, never the secret; it is found with its agent's row, so every
lookup sees whether the agent is still active."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.ids import new_id
from inboxd.store.agents import AGENT_COLUMNS
from inboxd.store.tables import agent_sessions, agents, department_members, login_failures
from inboxd.store.tokens import hash_token


@dataclass(frozen=True)
class SessionRow:
    id: str
    agent: sa.RowMapping  # the agent's row (AGENT_COLUMNS: never the password hash)
    created_at: int
    expires_at: int
    revoked_at: int | None
    departments: frozenset[str] = frozenset()  # the agent's, read with the session


async def create_session(conn: AsyncConnection, agent_uid: str, secret: str, *, now: int, expires_at: int) -> str:
    session_id = new_id()
    await conn.execute(agent_sessions.insert().values(
        id=session_id, agent_uid=agent_uid, secret_hash=hash_token(secret), created_at=now, expires_at=expires_at,
    ))
    return session_id


_FIND = (
    sa.select(agent_sessions.c.id.label("session_id"), agent_sessions.c.created_at.label("session_created_at"),
              agent_sessions.c.expires_at.label("session_expires_at"),
              agent_sessions.c.revoked_at.label("session_revoked_at"), *AGENT_COLUMNS)
    .join(agents, agents.c.uid == agent_sessions.c.agent_uid)
    .where(agent_sessions.c.secret_hash == sa.bindparam("b_hash"))
)


_DEPARTMENTS = sa.select(department_members.c.department_id).where(
    department_members.c.agent_uid == sa.bindparam("b_uid"))


async def find_session(conn: AsyncConnection, secret: str) -> SessionRow | None:
    """The session whose cookie holds `secret` (revoked or expired ones too), with its agent."""
    row = (await conn.execute(_FIND, {"b_hash": hash_token(secret)})).mappings().first()
    if row is None:
        return None
    departments = await conn.execute(_DEPARTMENTS, {"b_uid": row["uid"]})
    return SessionRow(row["session_id"], row, row["session_created_at"], row["session_expires_at"],
                      row["session_revoked_at"], frozenset(departments.scalars()))


async def revoke_session(conn: AsyncConnection, session_id: str, now: int) -> bool:
    result = await conn.execute(agent_sessions.update().where(
        agent_sessions.c.id == session_id, agent_sessions.c.revoked_at.is_(None)).values(revoked_at=now))
    return result.rowcount > 0


async def revoke_agent_sessions(conn: AsyncConnection, agent_uid: str, now: int) -> int:
    """End every open session of an agent (their password changed: signed in with the old one)."""
    result = await conn.execute(agent_sessions.update().where(
        agent_sessions.c.agent_uid == agent_uid, agent_sessions.c.revoked_at.is_(None)).values(revoked_at=now))
    return result.rowcount


async def purge_sessions(conn: AsyncConnection, *, ended_before: int) -> int:
    """Sessions expired or revoked before `ended_before` (kept a while for the record)."""
    result = await conn.execute(agent_sessions.delete().where(sa.or_(
        agent_sessions.c.expires_at < ended_before, agent_sessions.c.revoked_at < ended_before)))
    return result.rowcount


# --- failed sign-ins (the lockout) -----------------------------------------------------------

async def recent_failures(conn: AsyncConnection, email_key: str, *, since: int) -> list[int]:
    query = sa.select(login_failures.c.failed_at).where(
        login_failures.c.email_key == email_key, login_failures.c.failed_at > since)
    return [int(t) for t in (await conn.execute(query)).scalars()]


async def record_failure(conn: AsyncConnection, email_key: str, now: int) -> None:
    await conn.execute(login_failures.insert().values(id=new_id(), email_key=email_key, failed_at=now))


async def clear_failures(conn: AsyncConnection, email_key: str) -> None:
    await conn.execute(login_failures.delete().where(login_failures.c.email_key == email_key))


async def purge_failures(conn: AsyncConnection, *, before: int) -> int:
    result = await conn.execute(login_failures.delete().where(login_failures.c.failed_at < before))
    return result.rowcount
