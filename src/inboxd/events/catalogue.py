"""The events a scenario can subscribe to (Texter's internal trigger names, reference §10.2), and
what each one provides to `##provide` / `%provider:key%`.

A feature raises an event by publishing its name with the data listed here, inside the
transaction of its change (`domain_events.DomainEvents.publish`):

| trigger | published with | providers |
|---|---|---|
| `domain.message.created` | `message=` the `messages` row | `message` |
| `app.message.statusRequest` | `message=` the row after the change | `messageStatusRequest` |
| `domain.chat.subscribed` / `.unsubscribed` | `chat_id=` | `chat` |
| `domain.chat.pending` / `.resolved` | `chat_id=` | `chat` |
| `domain.chat.updated.externalBot`, `app.bot.chat.setExternal` | `chat_id=` | `chat` |
| `domain.chat.assigned` | `chat_id=`, `agent=` {_id, crmId, email, displayName, roles} | `chat`, `agent` |
| `domain.chat.labels` | `chat_id=`, `old_labels=`, `added_labels=`, `removed_labels=` | `chat`, `oldLabels`, `addedLabels`, `removedLabels` (each `{labels: [...]}`) |
| `domain.channel.health.problem.created` / `.resolved` | `problem=` the Problem object (§9) | `problem` |

A new kind of event is one more `Trigger` here: its name, how each of its providers is read
from the published data, and which stream (usually the chat) orders its deliveries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd import domain_events
from inboxd.events import shapes
from inboxd.events import store as events_store
from inboxd.store import chats as chats_store


class EventContext:
    """One published event: its data, and its providers computed on first use (a chat is read
    once however many subscriptions ask for it)."""

    def __init__(self, conn: AsyncConnection, trigger: Trigger, data: Mapping[str, Any]) -> None:
        self.conn = conn
        self.trigger = trigger
        self.data = data
        self._providers: dict[str, Any] = {}
        self._chat_rows: dict[str, Any] = {}
        self._chats: dict[str, dict[str, Any] | None] = {}

    async def provider(self, name: str) -> Any:
        if name not in self._providers:
            self._providers[name] = await self.trigger.providers[name](self)
        return self._providers[name]

    async def chat_row(self, chat_id: str) -> Any:
        if chat_id not in self._chat_rows:
            self._chat_rows[chat_id] = await chats_store.get_chat(self.conn, chat_id)
        return self._chat_rows[chat_id]

    async def chat(self, chat_id: str) -> dict[str, Any] | None:
        """The rendered chat (None when there is no such chat)."""
        if chat_id not in self._chats:
            row = await self.chat_row(chat_id)
            self._chats[chat_id] = None if row is None else shapes.chat(row)
        return self._chats[chat_id]

    async def chat_by_channel(self, channel: str, account_id: str, contact_id: str) -> dict[str, Any] | None:
        row = await events_store.find_chat_by_channel(self.conn, channel, account_id, contact_id)
        if row is None:
            return None
        self._chat_rows.setdefault(row["id"], row)
        return await self.chat(row["id"])


Provider = Callable[[EventContext], Awaitable[Any]]


@dataclass(frozen=True)
class Stream:
    """Which ordered stream an event's deliveries join (per subscription), and its chat if any."""

    key: str
    chat_id: str | None = None


@dataclass(frozen=True)
class Trigger:
    name: str
    providers: Mapping[str, Provider]
    stream: Callable[[Mapping[str, Any]], Stream]
    description: str = ""


# --- providers ------------------------------------------------------------------------------


async def _message(ctx: EventContext) -> Any:
    row = ctx.data["message"]
    chat = await ctx.chat_row(row["chat_id"])
    return None if chat is None else shapes.message(row, chat)


async def _status_report(ctx: EventContext) -> Any:
    row = ctx.data["message"]
    chat = await ctx.chat_row(row["chat_id"])
    return None if chat is None else shapes.status_report(row, chat)


async def _chat(ctx: EventContext) -> Any:
    return await ctx.chat(ctx.data["chat_id"])


def _data(name: str) -> Provider:
    async def provide(ctx: EventContext) -> Any:
        return ctx.data.get(name)

    return provide


def _labels(name: str) -> Provider:
    async def provide(ctx: EventContext) -> Any:
        return {"labels": list(ctx.data.get(name) or [])}

    return provide


def _message_stream(data: Mapping[str, Any]) -> Stream:
    chat_id = data["message"]["chat_id"]
    return Stream(chat_id, chat_id)


def _chat_stream(data: Mapping[str, Any]) -> Stream:
    return Stream(data["chat_id"], data["chat_id"])


def _problem_stream(data: Mapping[str, Any]) -> Stream:
    problem = data.get("problem") or {}
    return Stream(f"channel:{problem.get('channel')}:{problem.get('accountId')}")


_CHAT = {"chat": _chat}

TRIGGERS: dict[str, Trigger] = {
    t.name: t
    for t in (
        Trigger(domain_events.MESSAGE_CREATED, {"message": _message}, _message_stream,
                "a message was stored: incoming, or accepted for sending"),
        Trigger(domain_events.MESSAGE_STATUS_CHANGED, {"messageStatusRequest": _status_report}, _message_stream,
                "a message's status changed (sent, delivered, read, failed, channel failed)"),
        Trigger(domain_events.CHAT_SUBSCRIBED, _CHAT, _chat_stream, "a chat subscribed to template messages again"),
        Trigger(domain_events.CHAT_UNSUBSCRIBED, _CHAT, _chat_stream, "a chat unsubscribed from template messages"),
        Trigger("domain.chat.assigned", {**_CHAT, "agent": _data("agent")}, _chat_stream, "a chat was assigned"),
        Trigger("domain.chat.pending", _CHAT, _chat_stream, "a chat became pending"),
        Trigger("domain.chat.resolved", _CHAT, _chat_stream, "a chat was resolved"),
        Trigger(
            "domain.chat.labels",
            {**_CHAT, "oldLabels": _labels("old_labels"), "addedLabels": _labels("added_labels"),
             "removedLabels": _labels("removed_labels")},
            _chat_stream,
            "a chat's labels changed",
        ),
        Trigger("domain.chat.updated.externalBot", _CHAT, _chat_stream, "a chat's externalBot flag changed"),
        Trigger("app.bot.chat.setExternal", _CHAT, _chat_stream, "an external bot took or released a chat"),
        Trigger("domain.channel.health.problem.created", {"problem": _data("problem")}, _problem_stream,
                "a channel health problem was detected"),
        Trigger("domain.channel.health.problem.resolved", {"problem": _data("problem")}, _problem_stream,
                "a channel health problem was resolved"),
    )
}


def providers_of(trigger_names: list[str]) -> set[str]:
    """The providers every one of these triggers offers (a scenario with several triggers can
    only read what all of them provide)."""
    sets = [set(TRIGGERS[name].providers) for name in trigger_names if name in TRIGGERS]
    return set.intersection(*sets) if sets else set()
