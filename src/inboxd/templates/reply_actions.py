"""What happens when a contact answers: stop words, and the reply action of a template.

Subscribed to `domain.message.created`, so it runs inside the transaction that stores the
contact's message (the inbound webhook's): whatever it changes commits or rolls back with that
message, and a webhook processed twice cannot act twice (the message is stored once).

The reply action (`chat.replyAction`) is set when a template is sent (`templates.sending`): the
template's `chatStatus`, `replyText`, `responsibleDepartment`, … overridden by the send's
`replyAction`. On the contact's next message, within `expirationTime` seconds of the send:
- the chat moves through the lifecycle (`domain.lifecycle.template_reply`): `chatStatus`, for
  `responsibleAgent` (an active agent's email) and `responsibleDepartment`; ASSIGNED without an
  agent waits PENDING instead (docs/chats.md);
- `replyText` is sent as a session message: staged in the same transaction, on the same outbox
  and chat sequence as every outgoing message (the window is open: the contact just wrote);
- the action is used up (`replyAction` becomes null), also when it expired.
Without an action that applies, the contact's message follows the lifecycle's own rule: a
resolved chat reopens (`chats.lifecycle.Lifecycle.contact_wrote`).
`setBotNode`, `bot`, `replyToTemplateFile` and `resolveTime` are stored and returned but not
acted on: inboxd has no bot engine.

A stop word unsubscribes the contact (`templates.subscriptions`) and drops the pending action
without sending its reply.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.chats.lifecycle import Lifecycle
from inboxd.delivery.accept import OutgoingItem, stage_outgoing
from inboxd.domain import lifecycle
from inboxd.domain.agents import email_key
from inboxd.domain.clock import now_ms
from inboxd.domain.ids import new_id
from inboxd.domain.status import ChatStatus
from inboxd.domain.window import session_window_open
from inboxd.domain_events import CHAT_UPDATED, DomainEvents
from inboxd.store import agents as agents_store
from inboxd.store.chats import LIFECYCLE_COLUMNS
from inboxd.store.tables import chats
from inboxd.templates.subscriptions import is_stop_word, mark_unsubscribed

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
        self.lifecycle = Lifecycle(events)
        # Chat rows read ahead for the messages a transaction is about to announce (`read_ahead`).
        self._ahead: weakref.WeakKeyDictionary[AsyncConnection, dict[str, Any]] = weakref.WeakKeyDictionary()

    async def read_ahead(self, conn: AsyncConnection, messages: Iterable[Mapping[str, Any]]) -> None:
        """Read (and lock) in one statement the chats of the messages this transaction is about
        to announce one by one (the inbound processor's group): each chat's first
        message then answers from its row instead of a `SELECT … FOR UPDATE` of its own. The
        rows are the chats' state now, so they serve only while no answer has changed anything:
        the first one that writes (a transition may hand other chats out) drops the rest, and
        the messages after it read their chat as before. A chat's second message reads it too."""
        rows = await _lock_chats(conn, (m["chat_id"] for m in messages if is_reply(m)))
        self._ahead[conn] = {row["id"]: row for row in rows}

    async def __call__(self, conn: AsyncConnection, *, message: dict[str, Any]) -> None:
        if not is_reply(message):
            return
        ahead = self._ahead.get(conn)
        chat = ahead.pop(message["chat_id"], None) if ahead else None
        if await self._answer(conn, message, chat, now_ms()):
            self._ahead.pop(conn, None)

    async def _answer(self, conn: AsyncConnection, message: dict[str, Any], chat: Any, now: int) -> bool:
        """What the contact's message does; True when that changed anything. `chat`: its row read
        ahead, if any (else read here)."""
        chat_id = message["chat_id"]
        if is_stop_word(message, self.stop_words):
            await mark_unsubscribed(conn, chat_id, now, self.events)
            await self._use_action(conn, chat_id, chat)
            return True
        chat, action = await self._use_action(conn, chat_id, chat)
        if chat is None:
            return False
        if action is None or _expired(action, now):
            return await self.lifecycle.contact_wrote(conn, chat, now) is not None or action is not None
        await self._apply(conn, message, chat, action, now)
        return True

    async def _use_action(self, conn: AsyncConnection, chat_id: str, chat: Any) -> tuple[Any, dict[str, Any] | None]:
        """`_take_action`, announcing the chat's cleared `replyAction`."""
        chat, action = await _take_action(conn, chat_id, chat)
        if action is not None:
            await self.events.publish(conn, CHAT_UPDATED, chat_id=chat_id, fields=["replyAction"])
        return chat, action

    async def _apply(
        self, conn: AsyncConnection, message: Mapping[str, Any], chat: Mapping[str, Any], action: dict[str, Any],
        now: int,
    ) -> None:
        chat_id = message["chat_id"]
        status = action.get("chatStatus")
        agent_uid = await _responsible_agent(conn, action.get("responsibleAgent"))
        department = action.get("responsibleDepartment")
        target = lifecycle.template_reply(
            lifecycle.ChatState.of(chat),
            status=status if isinstance(status, int) and status in set(ChatStatus) else None,
            agent_uid=agent_uid,
            department_id=department if isinstance(department, str) and department else None,
        )
        await self.lifecycle.apply(conn, chat, target, lifecycle.INBOXD, now)
        reply = action.get("replyText")
        # A webhook that arrives a day late must not answer outside the window.
        if reply and session_window_open(message["timestamp"], now):
            await stage_outgoing(
                conn, chat_id, message["channel_account_id"], [OutgoingItem("text", {"text": reply})],
                ids=[new_id()], now=now, events=self.events,
            )


# What an answer reads of its chat, the row locked (PostgreSQL), so two messages processed at once
# cannot both run the action; SQLite has one writer. Built once: they run for every message.
_CHAT_FOR_ANSWER = sa.select(*LIFECYCLE_COLUMNS, chats.c.reply_action).with_for_update()
_LOCK_CHAT = _CHAT_FOR_ANSWER.where(chats.c.id == sa.bindparam("b_id"))
_LOCK_CHATS = _CHAT_FOR_ANSWER.where(chats.c.id.in_(sa.bindparam("b_ids", expanding=True))).order_by(chats.c.id)
_CLEAR_ACTION = chats.update().where(chats.c.id == sa.bindparam("b_id")).values(reply_action=sa.null())


async def _lock_chats(conn: AsyncConnection, chat_ids: Iterable[str]) -> list[Any]:
    """`_take_action`'s read for many chats: one statement, the rows locked in id order."""
    ids = sorted(set(chat_ids))
    if not ids:
        return []
    return list((await conn.execute(_LOCK_CHATS, {"b_ids": ids})).mappings())


async def _take_action(conn: AsyncConnection, chat_id: str, chat: Any = None) -> tuple[Any, dict[str, Any] | None]:
    """The chat (its row, locked: read here unless the caller read it ahead with `_lock_chats`)
    and its pending reply action, cleared in the same step."""
    if chat is None:
        chat = (await conn.execute(_LOCK_CHAT, {"b_id": chat_id})).mappings().first()
    if chat is None or not chat["reply_action"]:
        return chat, None
    await conn.execute(_CLEAR_ACTION, {"b_id": chat_id})
    return chat, dict(chat["reply_action"])


async def _responsible_agent(conn: AsyncConnection, email: Any) -> str | None:
    """The uid of the active agent a reply action names by email (`responsibleAgent`), if any."""
    if not isinstance(email, str) or not email:
        return None
    agent = await agents_store.find_agent(conn, email_key=email_key(email))
    return agent["uid"] if agent is not None and agent["active"] else None


def _expired(action: Mapping[str, Any], now: int) -> bool:
    created, ttl = action.get("created"), action.get("expirationTime")
    if not isinstance(created, int) or not isinstance(ttl, int):
        return False
    return now // 1000 > created + ttl
