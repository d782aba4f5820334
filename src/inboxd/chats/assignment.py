"""Round robin: which agent a waiting chat goes to, and the lock that makes the choice hold with
any number of processes (docs/chats.md).

A department with `assignment: round_robin` gives each waiting chat (PENDING, no agent) to its
`online`, active member with the fewest open (PENDING + ASSIGNED) chats below their
`maxOpenChats`, ties to the one assigned longest ago. Nobody available: the chat waits
(`chats.queued_at`); waiting chats are handed out oldest first when capacity appears.

**Concurrency.** Every transaction that gives an agent a chat, takes one away, or decides for a
round-robin department first takes the *assignment lock* (PostgreSQL: a transaction-level
advisory lock keyed by the schema; SQLite has one writer). Counting an agent's open chats and
giving them one are then one step for the whole system. Lock order, in every transaction: chat
rows (id order) → the assignment lock → agent rows; further chat rows only with `SKIP LOCKED`
(a waiting chat another transaction holds is left for the next hand-out), so no cycle can form.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.agents import Assignment, Presence
from inboxd.domain.lifecycle import OPEN
from inboxd.domain.status import ChatStatus
from inboxd.store.tables import agents, chats, department_members, departments

_LOCK_CLASS = 0x1B0E  # any constant; the second key is the schema, so test schemas do not contend
_LOCK = sa.text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))")
_OPEN_STATUSES = [int(s) for s in OPEN]


async def lock(conn: AsyncConnection) -> None:
    """The assignment lock, until the transaction ends (taking it again is free)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_LOCK, {"k": _LOCK_CLASS})


async def round_robin(conn: AsyncConnection, department_ids: Iterable[str | None]) -> list[str]:
    """Those of the departments that assign by round robin, sorted."""
    wanted = sorted({d for d in department_ids if d})
    if not wanted:
        return []
    query = sa.select(departments.c.id).where(
        departments.c.id.in_(wanted), departments.c.assignment == Assignment.ROUND_ROBIN.value
    )
    return sorted((await conn.execute(query)).scalars())


@dataclass(frozen=True)
class Candidate:
    uid: str
    open_chats: int
    max_open_chats: int | None
    last_assigned_at: int | None

    @property
    def room(self) -> float:
        return float("inf") if self.max_open_chats is None else self.max_open_chats - self.open_chats


def _open_count() -> sa.ScalarSelect[int]:
    return (
        sa.select(sa.func.count())
        .where(chats.c.agent_uid == agents.c.uid, chats.c.status.in_(_OPEN_STATUSES))
        .scalar_subquery()
    )


async def candidates(conn: AsyncConnection, department_id: str) -> list[Candidate]:
    """The department's members who can take a chat now (active, online, below capacity), best
    first. Call with the assignment lock held, or the counts may be stale by the time you use them."""
    query = (
        sa.select(agents.c.uid, agents.c.max_open_chats, agents.c.last_assigned_at, _open_count().label("open_chats"))
        .join(department_members, department_members.c.agent_uid == agents.c.uid)
        .where(
            department_members.c.department_id == department_id,
            agents.c.active.is_(True),
            agents.c.presence == Presence.ONLINE.value,
        )
    )
    found = [
        Candidate(r.uid, int(r.open_chats), r.max_open_chats, r.last_assigned_at)
        for r in await conn.execute(query)
    ]
    available = [c for c in found if c.room > 0]
    # fewest open chats; then the one assigned longest ago (never assigned: first); then by uid
    available.sort(key=lambda c: (c.open_chats, c.last_assigned_at is not None, c.last_assigned_at or 0, c.uid))
    return available


async def pick(conn: AsyncConnection, department_id: str) -> str | None:
    best = await candidates(conn, department_id)
    return best[0].uid if best else None


async def departments_of(conn: AsyncConnection, agent_uid: str) -> list[str]:
    query = sa.select(department_members.c.department_id).where(department_members.c.agent_uid == agent_uid)
    return sorted((await conn.execute(query)).scalars())


async def waiting(conn: AsyncConnection, department_id: str, limit: int) -> list[sa.RowMapping]:
    """The department's oldest waiting chats, locked, skipping those another transaction holds."""
    query = (
        sa.select(chats)
        .where(
            chats.c.department_id == department_id,
            chats.c.queued_at.is_not(None),
            chats.c.status == int(ChatStatus.PENDING),
            chats.c.agent_uid.is_(None),
        )
        .order_by(chats.c.queued_at, chats.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await conn.execute(query)).mappings())


async def anything_waiting(conn: AsyncConnection) -> list[str]:
    """Round-robin departments with a waiting chat and an online member (the sweep's cheap look)."""
    waiting_in = (
        sa.select(chats.c.department_id)
        .where(chats.c.queued_at.is_not(None), chats.c.department_id == departments.c.id)
        .exists()
    )
    someone_online = (
        sa.select(department_members.c.agent_uid)
        .join(agents, agents.c.uid == department_members.c.agent_uid)
        .where(
            department_members.c.department_id == departments.c.id,
            agents.c.active.is_(True),
            agents.c.presence == Presence.ONLINE.value,
        )
        .exists()
    )
    query = sa.select(departments.c.id).where(
        departments.c.assignment == Assignment.ROUND_ROBIN.value, waiting_in, someone_online
    )
    return sorted((await conn.execute(query)).scalars())


async def open_chats_of_inactive_agents(conn: AsyncConnection, limit: int = 200) -> list[sa.RowMapping]:
    """Open chats whose agent is no longer active (a deactivation that raced a change of the chat
    left them), locked, skipping those another transaction holds."""
    query = (
        sa.select(chats)
        .join(agents, agents.c.uid == chats.c.agent_uid)
        .where(agents.c.active.is_(False), chats.c.status.in_(_OPEN_STATUSES))
        .order_by(chats.c.id)
        .limit(limit)
        .with_for_update(of=chats, skip_locked=True)
    )
    return list((await conn.execute(query)).mappings())
