"""Domain events, published inside the database transaction of the change that caused them.

Whatever reacts to an event (event subscriptions writing their delivery outbox, template reply
actions, …) subscribes here and does its work on the same connection, so the reaction commits
or rolls back with the change. Names follow Texter's internal trigger names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

MESSAGE_CREATED = "domain.message.created"  # data: message (a `messages` row)
MESSAGE_STATUS_CHANGED = "app.message.statusRequest"  # data: message (the row after the change)
CHAT_SUBSCRIBED = "domain.chat.subscribed"  # data: chat_id
CHAT_UNSUBSCRIBED = "domain.chat.unsubscribed"  # data: chat_id
# Texter's chat triggers (reference §10.2), raised by the chat lifecycle and labels.
CHAT_ASSIGNED = "domain.chat.assigned"  # data: chat_id, agent {_id, crmId, email, displayName, roles}
CHAT_PENDING = "domain.chat.pending"  # data: chat_id
CHAT_RESOLVED = "domain.chat.resolved"  # data: chat_id
CHAT_LABELS = "domain.chat.labels"  # data: chat_id, old_labels, added_labels, removed_labels
CHAT_EXTERNAL_BOT = "domain.chat.updated.externalBot"  # data: chat_id
CHANNEL_PROBLEM_CREATED = "domain.channel.health.problem.created"  # data: problem (the Problem object)
CHANNEL_PROBLEM_RESOLVED = "domain.channel.health.problem.resolved"  # data: problem

# inboxd's own change notices (no Texter trigger): what the web inbox's live stream follows. Every
# change to what a chat or an agent shows publishes one, in the change's transaction, so the live
# log (one row per notice) commits with the change. `fields` names what changed (informational).
CHAT_CREATED = "inboxd.chat.created"  # data: chat_id
CHAT_UPDATED = "inboxd.chat.updated"  # data: chat_id, fields (list of Texter field names)
MESSAGE_UPDATED = "inboxd.message.updated"  # data: message (the row after a change other than status)
# A system message (a chat lifecycle transition) was written: not `domain.message.created`, which
# Texter's message subscriptions follow, but a message the inbox shows all the same.
SYSTEM_MESSAGE_CREATED = "inboxd.message.system"  # data: message (the `messages` row)
AGENT_UPDATED = "inboxd.agent.updated"  # data: agent_uid, fields
# Lists the web inbox shows besides chats: a quick reply created, changed or deleted; a channel
# health problem raised or resolved (docs/quick-replies.md, docs/channel-health.md).
QUICK_REPLY_CHANGED = "inboxd.quick_reply.changed"  # data: quick_reply_id, deleted (bool)
PROBLEM_CHANGED = "inboxd.problem.changed"  # data: problem_id
LABEL_CHANGED = "inboxd.label.changed"  # data: label_id, deleted (bool): created, renamed/recoloured, deleted

Listener = Callable[..., Awaitable[None]]


class DomainEvents:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)

    def subscribe(self, name: str, listener: Listener) -> None:
        self._listeners[name].append(listener)

    async def publish(self, conn: AsyncConnection, name: str, **data: Any) -> None:
        for listener in self._listeners.get(name, ()):
            await listener(conn, **data)
