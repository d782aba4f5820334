"""Creating, changing and listing agents and departments: the operations the API and the CLI
share (docs/chats.md). Each runs in one transaction, with the chat lifecycle's consequences:

- an agent deactivated: their open chats wait in their departments again (round robin hands
  them out);
- an agent online with room (came online, reactivated, joined a department, got a higher
  `maxOpenChats`), a department turned round robin or given members: waiting chats are handed out;
- a renamed agent: every chat of theirs shows the new `agent.displayName`.

Lock order as everywhere (`chats.assignment`): the assignment lock before any agent row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.agents import passwords, shapes
from inboxd.agents.requests import AgentChanges, DepartmentChanges
from inboxd.chats import assignment
from inboxd.chats.lifecycle import Lifecycle
from inboxd.domain.agents import Assignment, Presence, is_uid, new_uid
from inboxd.domain.clock import now_ms
from inboxd.domain.errors import Conflict, Problems, agent_not_found, department_not_found
from inboxd.domain.status import ChatStatus
from inboxd.domain_events import AGENT_UPDATED, CHAT_UPDATED, DomainEvents
from inboxd.store import accounts as accounts_store
from inboxd.store import agents as store
from inboxd.store import sessions as sessions_store
from inboxd.store.db import Database, is_unique_violation
from inboxd.store.tables import chats

# Agent columns whose change can move chats (round robin, requeue).
_ROUTING = {"active", "presence", "max_open_chats"}
# Column → the Agent object's field (the `inboxd.agent.updated` notice's `fields`).
_FIELDS = {"email": "email", "display_name": "displayName", "crm_id": "crmId", "roles": "roles", "active": "active",
           "presence": "presence", "max_open_chats": "maxOpenChats"}


class Directory:
    def __init__(self, db: Database, events: DomainEvents) -> None:
        self.db = db
        self.events = events
        self.lifecycle = Lifecycle(events)

    # --- agents --------------------------------------------------------------------------------

    async def list_agents(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            return await _rendered_agents(conn, await store.list_agents(conn))

    async def get_agent(self, uid: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await store.get_agent(conn, uid) if is_uid(uid) else None
            if row is None:
                raise agent_not_found(uid)
            return (await _rendered_agents(conn, [row]))[0]

    async def create_agent(self, changes: AgentChanges) -> dict[str, Any]:
        uid = new_uid()
        now = now_ms()
        values = {**changes.values, "uid": uid, "created_at": now, "updated_at": now}
        values.setdefault("max_open_chats", None)
        values.setdefault("crm_id", None)
        if changes.password is not None:
            values["password_hash"] = await passwords.hash_password(changes.password)
        try:
            async with self.db.write() as conn:
                await _check_departments(conn, changes.departments)
                await assignment.lock(conn)
                await store.insert_agent(conn, values)
                await store.set_agent_departments(conn, uid, changes.departments or [])
                await self.events.publish(conn, AGENT_UPDATED, agent_uid=uid, fields=sorted(_FIELDS.values()))
                if values["active"] and values["presence"] == Presence.ONLINE:
                    await self.lifecycle.agent_has_room(conn, uid, now)
        except Exception as exc:
            if is_unique_violation(exc):
                raise await self._taken(changes.values, None) from None
            raise
        return await self.get_agent(uid)

    async def update_agent(self, uid: str, changes: AgentChanges) -> dict[str, Any]:
        now = now_ms()
        values = dict(changes.values)
        if changes.password is not None:
            values["password_hash"] = await passwords.hash_password(changes.password)
        try:
            async with self.db.write() as conn:
                await self._update(conn, uid, values, changes.departments, now)
        except Exception as exc:
            if is_unique_violation(exc):
                raise await self._taken(changes.values, uid) from None
            raise
        return await self.get_agent(uid)

    async def set_presence(self, uid: str, presence: str) -> dict[str, Any]:
        async with self.db.write() as conn:
            await self._update(conn, uid, {"presence": presence}, None, now_ms())
        return await self.get_agent(uid)

    async def follow_streams(self, conn: AsyncConnection, uid: str, *, streaming: bool, now: int) -> None:
        """Presence from live streams (agents/presence.py), on the caller's transaction: an active
        agent who opened a stream turns online unless they are away (or already online); one whose
        last stream closed turns offline. Other presences set by hand are kept while streaming."""
        await assignment.lock(conn)
        row = await store.get_agent(conn, uid)
        if row is None or not row["active"]:
            return
        if streaming and row["presence"] == Presence.OFFLINE:
            await self._update(conn, uid, {"presence": Presence.ONLINE.value}, None, now)
        elif not streaming and row["presence"] != Presence.OFFLINE:
            await self._update(conn, uid, {"presence": Presence.OFFLINE.value}, None, now)

    async def _update(
        self, conn: AsyncConnection, uid: str, values: dict[str, Any], departments: list[str] | None, now: int
    ) -> None:
        await _check_departments(conn, departments)
        routing = departments is not None or bool(_ROUTING & set(values))
        if routing:
            await assignment.lock(conn)
        before = await store.get_agent(conn, uid, for_update=True) if is_uid(uid) else None
        if before is None:
            raise agent_not_found(uid)
        changed = {k: v for k, v in values.items() if k == "password_hash" or before.get(k) != v}
        joined: set[str] = set()
        if departments is not None:
            joined = set(departments) - set(await assignment.departments_of(conn, uid))
            await store.set_agent_departments(conn, uid, departments)
        if not changed and departments is None:
            return
        await store.update_agent(conn, uid, {**changed, "updated_at": now})
        if "password_hash" in changed:  # a new password ends the sessions signed in with the old one
            await sessions_store.revoke_agent_sessions(conn, uid, now)
        fields = sorted({_FIELDS[k] for k in changed if k in _FIELDS} | ({"departments"} if departments is not None else set()))
        await self.events.publish(conn, AGENT_UPDATED, agent_uid=uid, fields=[*fields, "updatedAt"])
        if "display_name" in changed:
            for chat_id in await store.rename_on_chats(conn, uid, changed["display_name"], now):
                await self.events.publish(conn, CHAT_UPDATED, chat_id=chat_id, fields=["agent", "updatedAt"])
        after = {**before, **changed}
        if before["active"] and not after["active"]:
            await self.lifecycle.requeue_agent_chats(conn, uid, now)
        elif after["active"] and after["presence"] == Presence.ONLINE and (
            not before["active"] or before["presence"] != Presence.ONLINE or joined
            or _more_room(before["max_open_chats"], after["max_open_chats"])
        ):
            await self.lifecycle.agent_has_room(conn, uid, now)

    async def _taken(self, values: Mapping[str, Any], uid: str | None) -> Conflict:
        """Which unique field a failed insert or update (of agent `uid`) collided on."""
        async with self.db.read() as conn:
            other = await store.find_agent(conn, email_key=values["email_key"]) if "email_key" in values else None
            if other is not None and other["uid"] != uid:
                return Conflict(f"An agent with the email {values['email']!r} already exists.", code="email_taken",
                                details=[{"path": "body.email", "reason": "another agent has this email"}])
        return Conflict(f"An agent with the crmId {values.get('crm_id')!r} already exists.", code="crm_id_taken",
                        details=[{"path": "body.crmId", "reason": "another agent has this crmId"}])

    # --- departments ------------------------------------------------------------------------

    async def list_departments(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await store.list_departments(conn)
            members = await store.members_by_department(conn, [r["id"] for r in rows])
        return [shapes.department(r, members[r["id"]]) for r in rows]

    async def get_department(self, department_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await store.get_department(conn, department_id)
            if row is None:
                raise department_not_found(department_id)
            members = await store.members_by_department(conn, [department_id])
        return shapes.department(row, members[department_id])

    async def create_department(self, changes: DepartmentChanges) -> dict[str, Any]:
        now = now_ms()
        department_id = changes.values["id"]
        try:
            async with self.db.write() as conn:
                await _check_members(conn, changes.members)
                await store.insert_department(conn, {**changes.values, "created_at": now, "updated_at": now})
                await self._departments_changed(conn, await store.set_department_members(
                    conn, department_id, changes.members or []))
                await self.lifecycle.hand_out(conn, [department_id], now)
        except Exception as exc:
            if is_unique_violation(exc):
                raise Conflict(f"A department with the id {department_id!r} already exists.", code="department_exists",
                               details=[{"path": "body.id", "reason": "already exists"}]) from None
            raise
        return await self.get_department(department_id)

    async def update_department(self, department_id: str, changes: DepartmentChanges) -> dict[str, Any]:
        now = now_ms()
        async with self.db.write() as conn:
            await _check_members(conn, changes.members)
            if changes.members is not None or "assignment" in changes.values:
                await assignment.lock(conn)
            if await store.get_department(conn, department_id) is None:
                raise department_not_found(department_id)
            await store.update_department(conn, department_id, {**changes.values, "updated_at": now})
            if changes.members is not None:
                await self._departments_changed(conn, await store.set_department_members(
                    conn, department_id, changes.members))
            if changes.values.get("assignment") == Assignment.ROUND_ROBIN or changes.members:
                await self.lifecycle.hand_out(conn, [department_id], now)
        return await self.get_department(department_id)

    async def delete_department(self, department_id: str) -> None:
        """Refused while a channel account opens its chats there or open chats are in it
        (move them first); resolved chats keep the id, as the record of where they were handled."""
        async with self.db.write() as conn:
            if await store.get_department(conn, department_id) is None:
                raise department_not_found(department_id)
            accounts = await accounts_store.accounts_defaulting_to(conn, department_id)
            open_chats = await _open_chats_in(conn, department_id)
            if accounts or open_chats:
                details = [{"path": "channelAccounts", "reason": f"default department of account {a}"} for a in accounts]
                if open_chats:
                    details.append({"path": "chats", "reason": f"{open_chats} open chats are in this department"})
                raise Conflict(
                    f"The department {department_id!r} is in use: move its chats and change the channel accounts' "
                    "default department first.",
                    code="department_in_use", details=details,
                )
            await self._departments_changed(conn, await store.delete_department(conn, department_id))

    async def _departments_changed(self, conn: AsyncConnection, uids: list[str]) -> None:
        """A department's members changed: each agent added or removed is `agent.updated` (their
        `departments`), which also makes their open live streams look at their view again."""
        for uid in uids:
            await self.events.publish(conn, AGENT_UPDATED, agent_uid=uid, fields=["departments"])


def _more_room(before: int | None, after: int | None) -> bool:
    if after is None:
        return before is not None
    return before is not None and after > before


async def _check_departments(conn: AsyncConnection, departments: list[str] | None) -> None:
    known = await store.existing_departments(conn, departments or [])
    _check_known(departments, known, "body.departments", "no department with id", "The agent is not valid")


async def _check_members(conn: AsyncConnection, members: list[str] | None) -> None:
    known = await store.existing_agents(conn, members or [])
    _check_known(members, known, "body.members", "no agent with uid", "The department is not valid")


def _check_known(items: list[str] | None, known: set[str], path: str, reason: str, what: str) -> None:
    """Every item of a body's list that names nothing is a problem (400, all reported)."""
    problems = Problems()
    for i, item in enumerate(items or []):
        if item not in known:
            problems.add(f"{path}[{i}]", f"{reason} {item!r}")
    problems.raise_if_any(what)


async def _open_chats_in(conn: AsyncConnection, department_id: str) -> int:
    """Chats someone still handles there (BOT, PENDING, ASSIGNED)."""
    done = [int(ChatStatus.RESOLVED), int(ChatStatus.BULK)]
    query = sa.select(sa.func.count()).where(chats.c.department_id == department_id, chats.c.status.notin_(done))
    return int((await conn.execute(query)).scalar_one())


async def render_agent(conn: AsyncConnection, uid: str) -> dict[str, Any] | None:
    """The Agent object as it is on this connection now (the live log's `agent.updated`)."""
    row = await store.get_agent(conn, uid) if is_uid(uid) else None
    return (await _rendered_agents(conn, [row]))[0] if row is not None else None


async def _rendered_agents(conn: AsyncConnection, rows: list[Any]) -> list[dict[str, Any]]:
    uids = [r["uid"] for r in rows]
    departments = await store.departments_by_agent(conn, uids)
    counts = await store.open_chat_counts(conn, uids)
    return [shapes.agent(r, departments[r["uid"]], counts.get(r["uid"], 0)) for r in rows]
