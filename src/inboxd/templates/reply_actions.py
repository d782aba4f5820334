"""What happens when a contact answers: stop words, and the reply action of a template.

Subscribed to `domain.message.created`, so it runs inside the transaction that stores the
contact's message (the inbound webhook's): whatever it changes commits or rolls back with that
message, and a webhook processed twice cannot act twice (the message is stored once).

The reply action (`chat.replyAction`) is set when a template is sent (`templates.sending`): the
template's `chatStatus`, `replyText`, `responsibleDepartment`, … overridden by the send's
`replyAction`. On the contact's next message, within `expirationTime` seconds of the send:
- the chat takes `chatStatus` (and `pendingUpdateTime` / `resolvedUpdateTime` when it becomes
  PENDING / RESOLVED), and `responsibleDepartment` becomes its `departmentId`;
- `replyText` is sent as a session message: staged in the same transaction, on the same outbox
  and chat sequence as every outgoing message (the window is open: the contact just wrote);
- the action is used up (`replyAction` becomes null), also when it expired.
`setBotNode`, `bot`, `responsibleAgent`, `replyToTemplateFile` and `resolveTime` are stored and
returned but not acted on: inboxd has no bot engine and no agent directory.

A stop word unsubscribes the contact (`templates.subscriptions`) and drops the pending action
without sending its reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.delivery.accept import OutgoingItem, stage_outgoing
from inboxd.domain.clock import now_ms
from inboxd.domain.ids import new_id
from inboxd.domain.status import ChatStatus
from inboxd.domain.window import session_window_open
from inboxd.domain_events import CHAT_UPDATED, DomainEvents
from inboxd.store.tables import chats
from inboxd.templates.subscriptions import is_stop_word, mark_unsubscribed

# What a reply action may change on the chat (`inboxd.chat.updated`'s `fields`).
_ACTION_FIELDS = ["status", "pendingUpdateTime", "resolvedUpdateTime", "departmentId", "updatedAt"]

# Incoming messages that are not an answer: a reaction to one of ours, a WhatsApp system notice.
_NOT_A_REPLY = ("reaction", "system")


def is_reply(message: Mapping[str, Any]) -> bool:
    if message["direction"] != "incoming":
        return False
    if message["type"] == "special":
        return (message["content"].get("special") or {}).get("type") not in _NOT_A_REPLY
    return True


class ContactAnswers:
    """The `domain.message.created` listener."""

    def __init__(self, stop_words: frozenset[str], events: DomainEvents) -> None:
        self.stop_words = stop_words
        self.events = events

    async def __call__(self, conn: AsyncConnection, *, message: dict[str, Any]) -> None:
        if not is_reply(message):
            return
        now = now_ms()
        chat_id = message["chat_id"]
        if is_stop_word(message, self.stop_words):
            await mark_unsubscribed(conn, chat_id, now, self.events)
            await self._use_action(conn, chat_id)
            return
        action = await self._use_action(conn, chat_id)
        if action is None or _expired(action, now):
            return
        await self._apply(conn, message, action, now)

    async def _use_action(self, conn: AsyncConnection, chat_id: str) -> dict[str, Any] | None:
        """`_take_action`, announcing the chat's cleared `replyAction`."""
        action = await _take_action(conn, chat_id)
        if action is not None:
            await self.events.publish(conn, CHAT_UPDATED, chat_id=chat_id, fields=["replyAction"])
        return action

    async def _apply(self, conn: AsyncConnection, message: Mapping[str, Any], action: dict[str, Any], now: int) -> None:
        chat_id = message["chat_id"]
        values: dict[str, Any] = {"updated_at": now}
        status = action.get("chatStatus")
        if isinstance(status, int) and status in set(ChatStatus):
            values["status"] = status
            if status == ChatStatus.PENDING:
                values["pending_update_time"] = now // 1000
            elif status == ChatStatus.RESOLVED:
                values["resolved_update_time"] = now // 1000
        if action.get("responsibleDepartment"):
            values["department_id"] = action["responsibleDepartment"]
        await conn.execute(chats.update().where(chats.c.id == chat_id).values(**values))
        await self.events.publish(conn, CHAT_UPDATED, chat_id=chat_id, fields=_ACTION_FIELDS)
        reply = action.get("replyText")
        # A webhook that arrives a day late must not answer outside the window.
        if reply and session_window_open(message["timestamp"], now):
            await stage_outgoing(
                conn, chat_id, message["channel_account_id"], [OutgoingItem("text", {"text": reply})],
                ids=[new_id()], now=now, events=self.events,
            )


async def _take_action(conn: AsyncConnection, chat_id: str) -> dict[str, Any] | None:
    """The chat's pending reply action, cleared in the same step. The row is locked first
    (PostgreSQL), so two messages processed at once cannot both run it; SQLite has one writer."""
    current = (
        await conn.execute(sa.select(chats.c.reply_action).where(chats.c.id == chat_id).with_for_update())
    ).scalar_one_or_none()
    if not current:
        return None
    await conn.execute(chats.update().where(chats.c.id == chat_id).values(reply_action=sa.null()))
    return dict(current)


def _expired(action: Mapping[str, Any], now: int) -> bool:
    created, ttl = action.get("created"), action.get("expirationTime")
    if not isinstance(created, int) or not isinstance(ttl, int):
        return False
    return now // 1000 > created + ttl
