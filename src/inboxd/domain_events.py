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

Listener = Callable[..., Awaitable[None]]


class DomainEvents:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)

    def subscribe(self, name: str, listener: Listener) -> None:
        self._listeners[name].append(listener)

    async def publish(self, conn: AsyncConnection, name: str, **data: Any) -> None:
        for listener in self._listeners.get(name, ()):
            await listener(conn, **data)
