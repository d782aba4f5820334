"""The store side of the chat lifecycle: the only code that writes `chats.status` (docs/chats.md).

`Lifecycle.apply` takes a `domain.lifecycle.Target` and, on the caller's connection (so it all
commits with the change that caused it):
1. for a chat left waiting in a round-robin department, chooses its agent (`chats.assignment`:
   under the assignment lock; the oldest waiting chat first);
2. writes the chat row (status, agent, department, `pendingUpdateTime` / `resolvedUpdateTime`,
   `externalBot`) and, for an agent who got a chat, their `last_assigned_at`;
3. writes the system message (`messages.type = "system"`: `newChatStatus`, `reason`,
   `changedBy`, the agent and department after it; `domain.texter.system_message` renders it);
4. publishes `inboxd.chat.created` / `inboxd.chat.updated`, `domain.chat.updated.externalBot`
   when the flag changes, and the status's event: `domain.chat.pending`, `domain.chat.assigned`
   (with the agent), `domain.chat.resolved`;
5. when an agent lost an open chat, hands the oldest waiting chats of their round-robin
   departments out (they have room now).

Callers pass the chat row locked (`store.chats.lock_chat`), or one they created in this
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd import domain_events as E
from inboxd.agents.shapes import event_agent
from inboxd.chats import assignment
from inboxd.domain import lifecycle as L
from inboxd.domain.agents import Presence
from inboxd.domain.ids import new_id
from inboxd.domain.lifecycle import Actor, ChatState, Target
from inboxd.domain.status import ChatStatus
from inboxd.domain.texter import SYSTEM_TYPE
from inboxd.domain_events import DomainEvents
from inboxd.store import accounts as accounts_store
from inboxd.store import agents as agents_store
from inboxd.store import chats as chats_store
from inboxd.store.tables import chats, messages

_STATUS_EVENTS = {
    ChatStatus.PENDING: E.CHAT_PENDING,
    ChatStatus.ASSIGNED: E.CHAT_ASSIGNED,
    ChatStatus.RESOLVED: E.CHAT_RESOLVED,
}
# Built once (a transition of every chat an inbound group opens runs them): the SET clause is the
# parameters' columns, `L.columns`'s and the agent's display name.
_UPDATE_CHAT = chats.update().where(chats.c.id == sa.bindparam("b_id"))
_INSERT_MESSAGE = messages.insert()
# At most this many waiting chats per department are locked in one round of a hand-out.
_HAND_OUT_ROUND = 100


class Lifecycle:
    def __init__(self, events: DomainEvents) -> None:
        self.events = events

    # --- applying a transition --------------------------------------------------------------

    async def apply(
        self, conn: AsyncConnection, chat: Mapping[str, Any], target: Target | None, actor: Actor, now: int,
        *, opening: bool = False,
    ) -> Target | None:
        """Apply `target` to `chat` (its row, locked); the target applied, or None when nothing
        changed. `opening`: the chat was created in this transaction (no earlier state)."""
        if target is None:
            return None
        current = None if opening else ChatState.of(chat)
        hand_out_after = False
        if target.waiting and target.department_id is not None:
            target, hand_out_after = await self._maybe_pick(conn, chat["id"], target)
        if not L.changes(current, target):
            return None
        given, freed = L.gives(current, target), L.frees(current, target)
        if given or freed:
            await assignment.lock(conn)
        agent_row = await self._target_agent(conn, target, given)
        values = L.columns(current, target, now)
        values["agent_display_name"] = agent_row["display_name"] if agent_row is not None else (
            chat["agent_display_name"] if target.agent_uid is not None else None
        )
        await conn.execute(_UPDATE_CHAT, {**values, "b_id": chat["id"]})
        if given:
            await agents_store.update_agent(conn, given, {"last_assigned_at": now})
        system_row = _system_message(chat, target, actor, values, now)
        await conn.execute(_INSERT_MESSAGE, system_row)
        await self._publish(conn, chat["id"], current, target, agent_row, opening)
        await self.events.publish(conn, E.SYSTEM_MESSAGE_CREATED, message=system_row)
        if hand_out_after and target.department_id is not None:
            await self.hand_out(conn, [target.department_id], now)
        if freed:
            await self.agent_has_room(conn, freed, now)
        return target

    async def _maybe_pick(self, conn: AsyncConnection, chat_id: str, target: Target) -> tuple[Target, bool]:
        """A chat left waiting in a round-robin department gets its agent now, unless older
        chats wait there: they go first (the chat waits, and a hand-out runs right after).
        The second value says whether that hand-out is due."""
        department = target.department_id
        assert department is not None
        if not await assignment.round_robin(conn, [department]):
            return target, False
        await assignment.lock(conn)
        agent = await assignment.pick(conn, department)
        if agent is None:
            return target, False  # nobody has room: it waits
        if await _older_waiting(conn, department, chat_id):
            return target, True
        return target.with_agent(agent), False

    async def _target_agent(self, conn: AsyncConnection, target: Target, given: str | None) -> Any:
        """The target's agent row when the transition needs it (a new agent, Chat Assigned)."""
        if target.agent_uid is None or not (given or target.status == ChatStatus.ASSIGNED):
            return None
        row = await agents_store.get_agent(conn, target.agent_uid)
        if given and (row is None or not row["active"]):
            # looked up before the assignment lock: deactivated since
            raise L.Refused("agent_inactive", f"The agent {target.agent_uid} is not active.")
        return row

    async def _publish(
        self, conn: AsyncConnection, chat_id: str, current: ChatState | None, target: Target, agent_row: Any,
        opening: bool,
    ) -> None:
        if opening:
            await self.events.publish(conn, E.CHAT_CREATED, chat_id=chat_id)
        else:
            moved = current is not None and (current.department_id, current.agent_uid) != (
                target.department_id, target.agent_uid)
            await self.events.publish(conn, E.CHAT_UPDATED, chat_id=chat_id, fields=L.changed_fields(current, target),
                                      before=(current.department_id, current.agent_uid) if moved else None)
        if target.external_bot is not None and (current is None or current.external_bot != target.external_bot):
            await self.events.publish(conn, E.CHAT_EXTERNAL_BOT, chat_id=chat_id)
        name = _STATUS_EVENTS.get(target.status)
        if name is None or not L.status_event_due(current, target):
            return
        if name == E.CHAT_ASSIGNED:
            await self.events.publish(conn, name, chat_id=chat_id, agent=event_agent(agent_row))
        else:
            await self.events.publish(conn, name, chat_id=chat_id)

    # --- the rules that need the database -------------------------------------------------------

    async def open(
        self, conn: AsyncConnection, chat_ids: Iterable[str], target: Target, actor: Actor, now: int
    ) -> None:
        """The opening transition of chats created in this transaction, oldest first (their rows
        read in one statement: the inbound processor opens a group's new chats at once)."""
        ids = sorted(chat_ids)
        if not ids:
            return
        rows = await chats_store.get_chats(conn, ids)
        assert len(rows) == len(ids)
        for chat in rows:  # (in id order)
            await self.apply(conn, chat, target, actor, now, opening=True)

    async def contact_wrote(self, conn: AsyncConnection, chat: Mapping[str, Any], now: int) -> Target | None:
        """A contact's message reopens a RESOLVED (or BULK) chat (`domain.lifecycle.contact_wrote`)."""
        current = ChatState.of(chat)
        if current.status not in (ChatStatus.RESOLVED, ChatStatus.BULK):
            return None  # the common case, without a query
        default_department, _ = await accounts_store.lifecycle_settings(conn, chat["channel_account_id"])
        exists = True
        if default_department is None and current.department_id is not None:
            exists = await agents_store.get_department(conn, current.department_id) is not None
        keep = False
        if current.agent_uid is not None and not current.external_bot:
            await assignment.lock(conn)
            keep = await _has_room(conn, current.agent_uid)
        target = L.contact_wrote(current, default_department=default_department, keep_agent=keep,
                                 department_exists=exists)
        return await self.apply(conn, chat, target, L.INBOXD, now)

    # --- round robin ----------------------------------------------------------------------------

    async def agent_has_room(self, conn: AsyncConnection, agent_uid: str, now: int) -> int:
        """The agent came online or has fewer open chats: hand the waiting chats of their
        round-robin departments out. Returns how many were handed out."""
        return await self.hand_out(conn, await assignment.departments_of(conn, agent_uid), now)

    async def hand_out(self, conn: AsyncConnection, department_ids: Iterable[str], now: int) -> int:
        """Give the waiting chats of these departments (the round-robin ones) to their available
        members, oldest first across them, until nobody has room or nothing waits."""
        departments = await assignment.round_robin(conn, department_ids)
        if not departments:
            return 0
        await assignment.lock(conn)
        handed = 0
        while True:
            batch: list[Any] = []
            for department in departments:
                room = sum(c.room for c in await assignment.candidates(conn, department))
                if room > 0:
                    batch += await assignment.waiting(conn, department, int(min(room, _HAND_OUT_ROUND)))
            if not batch:
                return handed
            batch.sort(key=lambda r: (r["queued_at"], r["id"]))
            progressed = 0
            for chat in batch:
                agent = await assignment.pick(conn, chat["department_id"])
                if agent is not None:
                    await self.apply(conn, chat, L.hand_out(ChatState.of(chat), agent), L.INBOXD, now)
                    progressed += 1
            handed += progressed
            if not progressed:
                return handed

    async def requeue_agent_chats(self, conn: AsyncConnection, agent_uid: str, now: int) -> int:
        """An agent was deactivated: their open chats wait in their departments again."""
        await assignment.lock(conn)
        moved = 0
        for chat in await agents_store.open_chats_of(conn, agent_uid):
            if await self.apply(conn, chat, L.requeue(ChatState.of(chat)), L.INBOXD, now) is not None:
                moved += 1
        return moved

    async def sweep(self, conn: AsyncConnection, now: int) -> int:
        """The safety net the workers run every few seconds: chats a hand-out skipped (another
        transaction held them), and open chats of agents deactivated while they were held."""
        changed = 0
        await assignment.lock(conn)
        for chat in await assignment.open_chats_of_inactive_agents(conn):
            if await self.apply(conn, chat, L.requeue(ChatState.of(chat)), L.INBOXD, now) is not None:
                changed += 1
        return changed + await self.hand_out(conn, await assignment.anything_waiting(conn), now)


async def _older_waiting(conn: AsyncConnection, department_id: str, chat_id: str) -> bool:
    query = sa.select(chats.c.id).where(
        chats.c.department_id == department_id, chats.c.queued_at.is_not(None), chats.c.id != chat_id
    ).limit(1)
    return (await conn.execute(query)).first() is not None


async def _has_room(conn: AsyncConnection, agent_uid: str) -> bool:
    """Whether a reopened chat may return to its last agent: active, online, below capacity."""
    agent = await agents_store.get_agent(conn, agent_uid)
    if agent is None or not agent["active"] or agent["presence"] != Presence.ONLINE:
        return False
    if agent["max_open_chats"] is None:
        return True
    counts = await agents_store.open_chat_counts(conn, [agent_uid])
    return counts.get(agent_uid, 0) < agent["max_open_chats"]


def _system_message(
    chat: Mapping[str, Any], target: Target, actor: Actor, values: Mapping[str, Any], now: int
) -> dict[str, Any]:
    agent = {"uid": target.agent_uid, "displayName": values["agent_display_name"] or ""}
    return {
        "id": new_id(),
        "chat_id": chat["id"],
        "channel_account_id": chat["channel_account_id"],
        "direction": None,
        "type": SYSTEM_TYPE,
        "content": {
            "newChatStatus": int(target.status),
            "reason": target.reason.value,
            "changedBy": actor.as_json(),
            "agent": agent,
            "departmentId": target.department_id,
        },
        # not a delivery status: system messages have none (the column is required)
        "status": 0,
        "status_history": [],
        "timestamp": now,
        "updated_at": now,
    }
