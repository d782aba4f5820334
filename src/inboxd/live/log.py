"""The live event log's writer: a `DomainEvents` listener that turns the changes of a transaction
into rows of `live_events`, written in that transaction, just before it commits.

While the transaction runs, each followed domain event only notes which object changed (a
message, a chat, a problem, …) in the transaction's pending list: one entry per object, in the
order they were first touched, so a message sent and the chat's preview updated become one
`message.created` and one `chat.updated`, not one event per notice. At the end (the database's
before-commit hook) the objects are rendered in their final state — the shapes the REST API
returns — numbered (`store.reserve_ids`: the lock that orders ids by commit is taken here, last,
and held only for the insert and the commit) and inserted in one statement. After the commit,
`on_commit` gets the events as written (the hub hands them to this process's streams without
reading them back); other processes get the NOTIFY.

Which domain events the log follows, and what each becomes, is the table below: adding a kind of
notice (quick replies, labels, …) is one line in `NOTICES`.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd import domain_events as de
from inboxd.agents.service import render_agent
from inboxd.domain import texter
from inboxd.domain.clock import now_ms
from inboxd.domain.labels import label_object
from inboxd.domain_events import DomainEvents
from inboxd.live import store as live_store
from inboxd.live.store import LiveEvent
from inboxd.quick_replies import store as quick_replies_store
from inboxd.store import chats as chats_store
from inboxd.store import labels as labels_store
from inboxd.store.db import Database
from inboxd.store.tables import messages

# Domain events about a message → the live event they make. `data`: message= the row after.
MESSAGE_EVENTS = {
    de.MESSAGE_CREATED: "message.created",
    de.SYSTEM_MESSAGE_CREATED: "message.created",
    de.MESSAGE_STATUS_CHANGED: "message.updated",
    de.MESSAGE_UPDATED: "message.updated",
}
# Domain events about a chat → the live event they make. `data`: chat_id=.
CHAT_EVENTS = {
    de.CHAT_CREATED: "chat.created",
    de.CHAT_UPDATED: "chat.updated",
    de.CHAT_ASSIGNED: "chat.updated",
    de.CHAT_PENDING: "chat.updated",
    de.CHAT_RESOLVED: "chat.updated",
    de.CHAT_LABELS: "chat.updated",
    de.CHAT_EXTERNAL_BOT: "chat.updated",
    de.CHAT_SUBSCRIBED: "chat.updated",
    de.CHAT_UNSUBSCRIBED: "chat.updated",
}
# A created object stays "created" when it changes again in the same transaction.
_CREATED = {"message.created", "chat.created"}

# `render(data)` → (the object's key, the object as the event carries it).
Render = Callable[[Mapping[str, Any]], tuple[str, Any]]


def carried(name: str) -> Render:
    """For notices published with the object itself (`problem=` a Problem): keyed by its `_id`."""
    return lambda data: (str(data[name]["_id"]), data[name])


def loaded(name: str, deleted: Callable[[str], Any] | None = None) -> Render:
    """For notices published with an id (`name=`): the object is loaded at the end of the
    transaction (`Notice.load`), in the state that commits; with `deleted=True` in the notice,
    `deleted(id)` is the event's object instead (the row is gone)."""

    def render(data: Mapping[str, Any]) -> tuple[str, Any]:
        key = str(data[name])
        return key, deleted(key) if deleted is not None and data.get("deleted") else None

    return render


# `load(conn, key)` → the object in its final state (None: gone, no event).
Load = Callable[[AsyncConnection, str], Awaitable[Any]]


async def _load_quick_reply(conn: AsyncConnection, quick_reply_id: str) -> Any:
    row = await quick_replies_store.get(conn, quick_reply_id)
    return quick_replies_store.shape(row) if row is not None else None


async def _load_label(conn: AsyncConnection, label_id: str) -> Any:
    row = await labels_store.get_label(conn, label_id)
    return label_object(row) if row is not None else None


@dataclass(frozen=True)
class Notice:
    type: str
    render: Render
    load: Load | None = None  # objects rendered as None are loaded at the end of the transaction
    deleted_type: str | None = None  # the event's type when the notice says `deleted=True`


# Other things the inbox lists: one line each.
NOTICES: dict[str, Notice] = {
    de.AGENT_UPDATED: Notice("agent.updated", loaded("agent_uid"), render_agent),
    de.CHANNEL_PROBLEM_CREATED: Notice("problem.created", carried("problem")),
    de.CHANNEL_PROBLEM_RESOLVED: Notice("problem.resolved", carried("problem")),
    de.QUICK_REPLY_CHANGED: Notice("quick_reply.updated", loaded("quick_reply_id", lambda i: {"_id": i, "deleted": True}),
                                   _load_quick_reply, "quick_reply.deleted"),
    de.LABEL_CHANGED: Notice("label.updated", loaded("label_id", lambda i: {"id": i, "deleted": True}), _load_label,
                             "label.deleted"),
}

# Columns a published row may leave out (an inbound message's row has only those it sets).
_MESSAGE_COLUMNS: dict[str, Any] = {column.name: None for column in messages.c}


@dataclass
class _Entry:
    type: str
    row: Mapping[str, Any] | None = None  # a message's row
    chat_id: str | None = None
    data: Any = None  # a notice's object
    load: Load | None = None  # a notice's object to load at the end (`data` is None)
    object_id: str = ""
    # A chat event that moved the chat (department, agent): where it was before this transaction,
    # so that those who saw it there see it leave (agents/visibility.py).
    before: tuple[str | None, str | None] | None = None


@dataclass
class _Pending:
    entries: dict[tuple[str, str], _Entry] = field(default_factory=dict)

    def note(self, key: tuple[str, str], type_: str, **values: Any) -> None:
        entry = self.entries.get(key)
        if entry is None:
            self.entries[key] = _Entry(type_, **values)
            return
        if entry.type not in _CREATED:
            entry.type = type_
        for name, value in values.items():
            if name == "before" and entry.before is not None:
                continue  # the first move of the transaction knows where the chat was
            setattr(entry, name, value)


class LiveLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: weakref.WeakKeyDictionary[AsyncConnection, _Pending] = weakref.WeakKeyDictionary()
        self._written: weakref.WeakKeyDictionary[AsyncConnection, list[LiveEvent]] = weakref.WeakKeyDictionary()
        # Called with a transaction's events, in id order, after it committed (the hub's publish).
        self.on_commit: Callable[[list[LiveEvent]], None] | None = None
        # Called with the last id a transaction took, before it commits (the hub's `numbered`).
        self.on_numbered: Callable[[int], None] | None = None
        self._remove_hooks: Callable[[], None] | None = None

    def install(self, events: DomainEvents) -> None:
        for name, type_ in MESSAGE_EVENTS.items():
            events.subscribe(name, self._message_listener(type_))
        for name, type_ in CHAT_EVENTS.items():
            events.subscribe(name, self._chat_listener(type_))
        for name, notice in NOTICES.items():
            events.subscribe(name, self._notice_listener(notice))
        self._remove_hooks = self.db.add_commit_hooks(self.flush, self._committed)

    def uninstall(self) -> None:
        if self._remove_hooks is not None:
            self._remove_hooks()
            self._remove_hooks = None

    def _pending_for(self, conn: AsyncConnection) -> _Pending:
        pending = self._pending.get(conn)
        if pending is None:
            pending = self._pending[conn] = _Pending()
        return pending

    def _message_listener(self, type_: str) -> Any:
        async def listener(conn: AsyncConnection, *, message: Mapping[str, Any], **_: Any) -> None:
            row = {**_MESSAGE_COLUMNS, **message}
            self._pending_for(conn).note(("message", row["id"]), type_, row=row, chat_id=row["chat_id"])

        return listener

    def _chat_listener(self, type_: str) -> Any:
        async def listener(conn: AsyncConnection, *, chat_id: str, before: Any = None, **_: Any) -> None:
            self._pending_for(conn).note(("chat", chat_id), type_, chat_id=chat_id, before=before)

        return listener

    def _notice_listener(self, notice: Notice) -> Any:
        async def listener(conn: AsyncConnection, **data: Any) -> None:
            key, obj = notice.render(data)
            type_ = notice.deleted_type if notice.deleted_type and data.get("deleted") else notice.type
            self._pending_for(conn).note((notice.type, key), type_, data=obj, load=notice.load, object_id=key)

        return listener

    async def flush(self, conn: AsyncConnection) -> None:
        """The before-commit hook: render, number and insert this transaction's events."""
        pending = self._pending.pop(conn, None)
        if pending is None or not pending.entries:
            return
        entries = list(pending.entries.values())
        chat_rows = await _chat_rows(conn, entries)
        rows: list[dict[str, Any]] = []
        for entry in entries:
            chat = chat_rows.get(entry.chat_id) if entry.chat_id is not None else None
            if entry.row is not None:
                if chat is None:
                    continue  # (a message of a chat that is gone: nothing to show)
                info = texter.channel_info(chat["channel"], chat["contact_id"], chat["account_phone"])
                obj = texter.message(entry.row, info)
            elif entry.chat_id is not None:
                if chat is None:
                    continue
                obj = texter.chat_full(chat, chat["channel"], chat["account_phone"])
            elif entry.data is None and entry.load is not None:
                obj = await entry.load(conn, entry.object_id)
                if obj is None:
                    continue  # (gone within the transaction)
            else:
                obj = entry.data
            rows.append({
                "type": entry.type,
                "channel_account_id": chat["channel_account_id"] if chat is not None else None,
                "chat_id": entry.chat_id,
                "department_id": chat["department_id"] if chat is not None else None,
                "agent_uid": chat["agent_uid"] if chat is not None else None,
                "before": orjson.dumps(entry.before).decode() if entry.before is not None else None,
                "data": orjson.dumps(obj).decode(),
            })
        if not rows:
            return
        last = await live_store.reserve_ids(conn, len(rows))
        if self.on_numbered is not None:
            self.on_numbered(last)
        created_at = now_ms()  # taken under the cursor's lock: times follow ids (retention)
        for i, row in enumerate(rows):
            row["id"] = last - len(rows) + 1 + i
            row["created_at"] = created_at
        await live_store.insert_events(conn, rows)
        self._written[conn] = [
            LiveEvent(row["id"], row["type"], row["data"], row["channel_account_id"], row["chat_id"],
                      row["department_id"], row["agent_uid"], row["before"])
            for row in rows
        ]

    def _committed(self, conn: AsyncConnection) -> None:
        events = self._written.pop(conn, None)
        if events is not None and self.on_commit is not None:
            self.on_commit(events)


async def _chat_rows(conn: AsyncConnection, entries: list[_Entry]) -> dict[str, Any]:
    """The chats the entries need, as they are at the end of this transaction. The chats of chat
    events are locked (PostgreSQL): the transaction changed them and holds them already, and a
    notice for a chat it did not change cannot render a state that a concurrent transaction,
    numbered after this one, has already replaced. A message's chat only gives its channel."""
    changed = sorted({e.chat_id for e in entries if e.chat_id is not None and e.row is None})
    others = sorted({e.chat_id for e in entries if e.chat_id is not None and e.row is not None} - set(changed))
    found = {row["id"]: row for row in await chats_store.get_chats(conn, changed, lock=True)} if changed else {}
    if others:
        found.update({row["id"]: row for row in await chats_store.get_chats(conn, others)})
    return found
