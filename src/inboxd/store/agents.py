"""Agents, departments and their members (docs/chats.md).

Agent rows are read without `password_hash` everywhere but `password_hash_of` (the sign-in
check), so a row that ends up in a log or a traceback never carries it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.lifecycle import OPEN
from inboxd.store.tables import agents, chats, department_members, departments

AGENT_COLUMNS = [c for c in agents.c if c.name != "password_hash"]
_OPEN_STATUSES = [int(s) for s in OPEN]


# --- agents -----------------------------------------------------------------------------------


async def insert_agent(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(agents.insert().values(**values))


async def get_agent(conn: AsyncConnection, uid: str, *, for_update: bool = False) -> sa.RowMapping | None:
    query = sa.select(*AGENT_COLUMNS).where(agents.c.uid == uid)
    if for_update:
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def find_agent(conn: AsyncConnection, *, email_key: str | None = None, crm_id: str | None = None) -> sa.RowMapping | None:
    query = sa.select(*AGENT_COLUMNS)
    if email_key is not None:
        query = query.where(agents.c.email_key == email_key)
    elif crm_id is not None:
        query = query.where(agents.c.crm_id == crm_id)
    else:
        return None
    return (await conn.execute(query)).mappings().first()


async def list_agents(conn: AsyncConnection, uids: list[str] | None = None) -> list[sa.RowMapping]:
    query = sa.select(*AGENT_COLUMNS).order_by(agents.c.created_at, agents.c.uid)
    if uids is not None:
        query = query.where(agents.c.uid.in_(uids))
    return list((await conn.execute(query)).mappings())


async def update_agent(conn: AsyncConnection, uid: str, values: dict[str, Any]) -> None:
    if values:
        await conn.execute(agents.update().where(agents.c.uid == uid).values(**values))


async def password_hash_of(conn: AsyncConnection, email_key: str) -> tuple[sa.RowMapping, str | None] | None:
    query = sa.select(*AGENT_COLUMNS, agents.c.password_hash).where(agents.c.email_key == email_key)
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    return row, row["password_hash"]


async def open_chat_counts(conn: AsyncConnection, uids: list[str]) -> dict[str, int]:
    if not uids:
        return {}
    query = (
        sa.select(chats.c.agent_uid, sa.func.count())
        .where(chats.c.agent_uid.in_(uids), chats.c.status.in_(_OPEN_STATUSES))
        .group_by(chats.c.agent_uid)
    )
    return {uid: int(n) for uid, n in await conn.execute(query)}


async def open_chats_of(conn: AsyncConnection, uid: str) -> list[sa.RowMapping]:
    """The agent's open chats, locked, skipping those another transaction holds."""
    query = (
        sa.select(chats)
        .where(chats.c.agent_uid == uid, chats.c.status.in_(_OPEN_STATUSES))
        .order_by(chats.c.id)
        .with_for_update(skip_locked=True)
    )
    return list((await conn.execute(query)).mappings())


async def rename_on_chats(conn: AsyncConnection, uid: str, display_name: str, now: int) -> list[str]:
    """Chats carry their agent's display name (Texter's `agent {uid, displayName}`): a rename
    reaches them all. Returns the chats changed."""
    result = await conn.execute(
        chats.update()
        .where(chats.c.agent_uid == uid)
        .values(agent_display_name=display_name, updated_at=now)
        .returning(chats.c.id)
    )
    return sorted(result.scalars())


# --- departments -------------------------------------------------------------------------------


async def insert_department(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(departments.insert().values(**values))


async def get_department(conn: AsyncConnection, department_id: str) -> sa.RowMapping | None:
    query = sa.select(departments).where(departments.c.id == department_id)
    return (await conn.execute(query)).mappings().first()


async def list_departments(conn: AsyncConnection) -> list[sa.RowMapping]:
    query = sa.select(departments).order_by(departments.c.id)
    return list((await conn.execute(query)).mappings())


async def existing_departments(conn: AsyncConnection, ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    query = sa.select(departments.c.id).where(departments.c.id.in_(wanted))
    return set((await conn.execute(query)).scalars())


async def existing_agents(conn: AsyncConnection, uids: Iterable[str]) -> set[str]:
    wanted = sorted(set(uids))
    if not wanted:
        return set()
    query = sa.select(agents.c.uid).where(agents.c.uid.in_(wanted))
    return set((await conn.execute(query)).scalars())


async def update_department(conn: AsyncConnection, department_id: str, values: dict[str, Any]) -> None:
    if values:
        await conn.execute(departments.update().where(departments.c.id == department_id).values(**values))


async def delete_department(conn: AsyncConnection, department_id: str) -> list[str]:
    """Deletes it and its memberships; returns the agents who were its members."""
    members = await set_department_members(conn, department_id, [])
    await conn.execute(departments.delete().where(departments.c.id == department_id))
    return members


# --- members -----------------------------------------------------------------------------------


async def departments_by_agent(conn: AsyncConnection, uids: list[str]) -> dict[str, list[str]]:
    return await _grouped(conn, department_members.c.agent_uid, department_members.c.department_id, uids)


async def members_by_department(conn: AsyncConnection, ids: list[str]) -> dict[str, list[str]]:
    return await _grouped(conn, department_members.c.department_id, department_members.c.agent_uid, ids)


async def _grouped(conn: AsyncConnection, key: sa.Column[Any], value: sa.Column[Any], keys: list[str]) -> dict[str, list[str]]:
    """{key: sorted values} of the membership table, for these keys (each listed, maybe empty)."""
    out: dict[str, list[str]] = {k: [] for k in keys}
    if keys:
        query = sa.select(key, value).where(key.in_(keys)).order_by(value)
        for k, v in await conn.execute(query):
            out[k].append(v)
    return out


async def set_agent_departments(conn: AsyncConnection, uid: str, department_ids: list[str]) -> None:
    await conn.execute(department_members.delete().where(department_members.c.agent_uid == uid))
    if department_ids:
        await conn.execute(
            department_members.insert(), [{"department_id": d, "agent_uid": uid} for d in sorted(set(department_ids))]
        )


async def set_department_members(conn: AsyncConnection, department_id: str, uids: list[str]) -> list[str]:
    """Replaces its members; returns the agents whose departments changed (added or removed)."""
    before = set((await conn.execute(
        sa.select(department_members.c.agent_uid).where(department_members.c.department_id == department_id)
    )).scalars())
    after = set(uids)
    await conn.execute(department_members.delete().where(department_members.c.department_id == department_id))
    if after:
        await conn.execute(
            department_members.insert(), [{"department_id": department_id, "agent_uid": u} for u in sorted(after)]
        )
    return sorted(before ^ after)
