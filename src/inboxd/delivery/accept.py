"""Accepting outgoing messages: the messages, their outbox rows, the chat's sequence numbers
and the idempotency key commit in one transaction, before anything is sent.

Idempotency (`tmpSendId` or `Idempotency-Key`): per chat, for 24 hours, a repeat returns the
first request's messages and sends nothing; the same key with a different body is 409. The
key's row is inserted in the same transaction as the messages, so of 20 simultaneous identical
requests exactly one commits messages and the others replay it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.errors import Conflict
from inboxd.domain.ids import new_id
from inboxd.domain.status import MessageStatus
from inboxd.domain.texter import last_message_preview
from inboxd.domain_events import CHAT_UPDATED, MESSAGE_CREATED, DomainEvents
from inboxd.store import chats as chats_store
from inboxd.store import outbox as outbox_store
from inboxd.store.db import Database, is_unique_violation
from inboxd.store.prepared import Prepared
from inboxd.store.tables import chats, idempotency_keys, messages
from inboxd.store.upsert import insert_for

IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000

OnAccept = Callable[[AsyncConnection, list[dict[str, Any]]], Awaitable[None]]


@dataclass(frozen=True)
class OutgoingItem:
    type: str
    content: dict[str, Any]
    # How long the chat's next message waits after this one was handed to the channel (a quick
    # reply's betweenMessagesDelay; see outbox.delay_next).
    next_gap_ms: int | None = None


@dataclass(frozen=True)
class Idempotency:
    key: str
    request_hash: str


@dataclass(frozen=True)
class Accepted:
    message_ids: list[str]
    replay: bool
    # The message rows as committed, with every column of `messages` (a new acceptance only;
    # a replay's messages are read from the database).
    rows: list[dict[str, Any]] | None = None


class _KeyTaken(Exception):
    pass


async def find_replay(db: Database, chat_id: str, idem: Idempotency | None, now: int) -> Accepted | None:
    """The earlier result for this key, if any (409 when the body differs)."""
    if idem is None:
        return None
    async with db.read() as conn:
        return await _replay(conn, chat_id, idem, now)


async def _replay(conn: AsyncConnection, chat_id: str, idem: Idempotency, now: int) -> Accepted | None:
    row = (
        await conn.execute(
            sa.select(idempotency_keys).where(
                idempotency_keys.c.chat_id == chat_id,
                idempotency_keys.c.key == idem.key,
                idempotency_keys.c.created_at > now - IDEMPOTENCY_WINDOW_MS,
            )
        )
    ).mappings().first()
    if row is None:
        return None
    if row["request_hash"] != idem.request_hash:
        raise idempotency_key_reused()
    return Accepted(list(row["message_ids"]), replay=True)


async def accept_outgoing(
    db: Database,
    chat_id: str,
    account_id: str,
    items: list[OutgoingItem],
    *,
    now: int,
    idempotency: Idempotency | None = None,
    tmp_send_id: str | None = None,
    context: str | None = None,
    agent: str | None = None,
    events: DomainEvents | None = None,
    message_ids: list[str] | None = None,
    on_accept: OnAccept | None = None,
) -> Accepted:
    """`on_accept(conn, rows)`, if given, runs inside the transaction after the messages are
    staged (e.g. a template send setting the chat's reply action), so it commits with them and
    is skipped on a replay.

    Group commit: requests that arrive while the database is busy with an earlier group are
    accepted together in the next transaction (`_accept_group`), each returning once that
    transaction committed — the same guarantees as one transaction each, at a fraction of the
    statements and commits under load."""
    request = _Request(
        chat_id, account_id, items, message_ids or [new_id() for _ in items], now, idempotency, tmp_send_id,
        context, agent, events, on_accept,
    )
    return await _group_for(db).submit(request)


async def _accept_one(db: Database, r: _Request) -> Accepted:
    """One request in a transaction of its own (a group that failed retries this way, so one
    request's failure cannot fail the others)."""
    chat_id, idempotency, ids, now = r.chat_id, r.idempotency, r.ids, r.now
    try:
        async with db.write() as conn:
            if idempotency is not None and not await _claim_key(conn, chat_id, idempotency, ids, now):
                raise _KeyTaken
            rows = await stage_outgoing(
                conn, chat_id, r.account_id, r.items, ids=ids, now=now, tmp_send_id=r.tmp_send_id,
                context=r.context, agent=r.agent, events=r.events,
            )
            if r.on_accept is not None:
                await r.on_accept(conn, rows)
    except _KeyTaken:
        pass
    except Exception as exc:
        if idempotency is None or not is_unique_violation(exc):
            raise
    else:
        return Accepted(ids, replay=False, rows=_as_stored(rows))
    # Another request with this key committed first: answer with its result.
    async with db.read() as conn:
        replay = await _replay(conn, chat_id, idempotency, now)  # type: ignore[arg-type]
    assert replay is not None
    return replay



def idempotency_key_reused() -> Conflict:
    return Conflict(
        "This idempotency key (tmpSendId or Idempotency-Key) was already used on this chat with a different request.",
        code="idempotency_key_reused",
    )

def _message_rows(
    chat_id: str,
    account_id: str,
    items: list[OutgoingItem],
    ids: list[str],
    *,
    first_seq: int,
    now: int,
    tmp_send_id: str | None,
    context: str | None,
    agent: str | None,
) -> list[dict[str, Any]]:
    """The `messages` rows of newly accepted outgoing messages (the columns they set)."""
    return [
        {
            "id": message_id,
            "chat_id": chat_id,
            "channel_account_id": account_id,
            "direction": "outgoing",
            "type": item.type,
            "content": item.content,
            "status": int(MessageStatus.ACCEPTED),
            "status_history": [{"status": int(MessageStatus.ACCEPTED), "timestamp": now}],
            "timestamp": now,
            "updated_at": now,
            "seq": first_seq + i,
            "tmp_send_id": tmp_send_id,
            "context": context,
            "agent": agent,
        }
        for i, (message_id, item) in enumerate(zip(ids, items, strict=True))
    ]


def _as_stored(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Staged rows with every column of `messages`, as a read after the commit returns them."""
    return [{**_UNSET_COLUMNS, **row} for row in rows]


# The rows of `_message_rows` (every new outgoing message is inserted with this statement).
INSERT_MESSAGES = Prepared(messages.insert())

# Left out of the insert (SQLAlchemy's JSON type would store a Python None as JSON null).
_UNSET_COLUMNS: dict[str, Any] = {column.name: None for column in messages.c}


async def stage_outgoing(
    conn: AsyncConnection,
    chat_id: str,
    account_id: str,
    items: list[OutgoingItem],
    *,
    ids: list[str],
    now: int,
    tmp_send_id: str | None = None,
    context: str | None = None,
    agent: str | None = None,
    events: DomainEvents | None = None,
) -> list[dict[str, Any]]:
    """Insert the messages, their outbox rows and the chat's preview on the caller's connection:
    the part of accepting that can join a transaction already open (a reply sent from inside
    the inbound transaction that stored the contact's message)."""
    first_seq = await chats_store.next_seq(conn, chat_id, len(items))
    rows = _message_rows(chat_id, account_id, items, ids, first_seq=first_seq, now=now, tmp_send_id=tmp_send_id,
                         context=context, agent=agent)
    await INSERT_MESSAGES.executemany(conn, rows)
    await outbox_store.enqueue(conn, [_outbox_row(row, item) for row, item in zip(rows, items, strict=True)])
    last = items[-1]
    await chats_store.record_outgoing(
        conn, chat_id, timestamp=now, preview=last_message_preview(last.type, last.content), now=now
    )
    if events is not None:
        for row in rows:
            await events.publish(conn, MESSAGE_CREATED, message=row)
        await events.publish(conn, CHAT_UPDATED, chat_id=chat_id, fields=PREVIEW_FIELDS)
    return rows


def _outbox_row(message: dict[str, Any], item: OutgoingItem) -> dict[str, Any]:
    """The outbox row of a message just staged (due at once)."""
    return {
        "id": new_id(), "message_id": message["id"], "chat_id": message["chat_id"],
        "channel_account_id": message["channel_account_id"], "seq": message["seq"], "attempts": 0,
        "due_at": message["timestamp"], "created_at": message["timestamp"], "next_gap_ms": item.next_gap_ms,
    }


# What a new outgoing message changes on its chat (`inboxd.chat.updated`'s `fields`).
PREVIEW_FIELDS = ["lastMessage", "last_message_timestamp", "updatedAt"]


async def _claim_key(conn: AsyncConnection, chat_id: str, idem: Idempotency, ids: list[str], now: int) -> bool:
    """Take the key for this request; False when a live earlier request holds it. An expired
    row (older than 24 h) is taken over."""
    stmt = insert_for(conn, idempotency_keys).values(
        chat_id=chat_id, key=idem.key, request_hash=idem.request_hash, message_ids=ids, created_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["chat_id", "key"],
        set_={"request_hash": stmt.excluded.request_hash, "message_ids": stmt.excluded.message_ids,
              "created_at": stmt.excluded.created_at},
        where=idempotency_keys.c.created_at <= now - IDEMPOTENCY_WINDOW_MS,
    )
    result = await conn.execute(stmt)
    return result.rowcount == 1


# --- group commit ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Request:
    chat_id: str
    account_id: str
    items: list[OutgoingItem]
    ids: list[str]
    now: int
    idempotency: Idempotency | None = None
    tmp_send_id: str | None = None
    context: str | None = None
    agent: str | None = None
    events: DomainEvents | None = None
    on_accept: OnAccept | None = None
    done: asyncio.Future[Accepted] | None = None


class _Group:
    """The requests waiting for the next accepting transaction of one database (per event loop)."""

    MAX = 256

    def __init__(self, db: Database) -> None:
        self.db = db
        self.loop = asyncio.get_running_loop()
        self.pending: list[_Request] = []
        self.task: asyncio.Task[None] | None = None

    async def submit(self, request: _Request) -> Accepted:
        request.done = self.loop.create_future()
        self.pending.append(request)
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._run())
        return await request.done

    async def _run(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[: self.MAX], self.pending[self.MAX :]
            try:
                await _accept_group(self.db, batch)
            except Exception:  # the group rolled back: each request on its own
                for r in batch:
                    await _settle(r, _accept_one(self.db, r))


_GROUPS: weakref.WeakKeyDictionary[Database, _Group] = weakref.WeakKeyDictionary()


def _group_for(db: Database) -> _Group:
    group = _GROUPS.get(db)
    if group is None or group.loop is not asyncio.get_running_loop():
        group = _GROUPS[db] = _Group(db)
    return group


async def _settle(request: _Request, outcome: Awaitable[Accepted]) -> None:
    assert request.done is not None
    try:
        result = await outcome
    except Exception as exc:
        if not request.done.done():
            request.done.set_exception(exc)
    else:
        if not request.done.done():
            request.done.set_result(result)


async def _accept_group(db: Database, batch: list[_Request]) -> None:
    """Accept every request of the group in one transaction; a request whose idempotency key
    is taken answers with the earlier result. Raises (nothing committed) if anything fails."""
    taken: list[_Request] = []
    async with db.write() as conn:
        staged: list[_Request] = []
        for r in batch:
            if r.idempotency is not None and not await _claim_key(conn, r.chat_id, r.idempotency, r.ids, r.now):
                taken.append(r)
            else:
                staged.append(r)
        rows = await _stage_many(conn, staged)
        for r in staged:
            if r.on_accept is not None:
                await r.on_accept(conn, rows[id(r)])
    taken_ids = {id(r) for r in taken}
    for r in batch:
        if id(r) in taken_ids:
            continue
        assert r.done is not None
        if not r.done.done():
            r.done.set_result(Accepted(r.ids, replay=False, rows=_as_stored(rows[id(r)])))
    for r in taken:
        await _settle(r, find_replay(db, r.chat_id, r.idempotency, r.now))


async def _stage_many(conn: AsyncConnection, batch: list[_Request]) -> dict[int, list[dict[str, Any]]]:
    """`stage_outgoing` for many requests in a few statements, each compiled once
    (`store.prepared`): the chats' sequence numbers and previews in one executemany (in chat id
    order, the order the live log locks them in; requests on one chat numbered in arrival
    order) and one read of the numbers it reached, every message in one executemany, every
    outbox row in one, then the domain events in order."""
    if not batch:
        return {}
    counts: dict[str, int] = {}
    previews: dict[str, dict[str, Any]] = {}
    for r in batch:
        counts[r.chat_id] = counts.get(r.chat_id, 0) + len(r.items)
        last = r.items[-1]  # the chat's last request gives its preview
        previews[r.chat_id] = {"b_preview": last_message_preview(last.type, last.content), "b_ts": r.now}
    order = sorted(counts)
    await _ADVANCE_CHATS.executemany(
        conn, [{"b_n": counts[c], "b_preview": previews[c]["b_preview"], "b_ts": previews[c]["b_ts"], "b_id": c}
               for c in order]
    )
    reached = (await conn.execute(_LAST_SEQS, {"b_ids": order})).all()
    next_seq = {chat_id: last - counts[chat_id] + 1 for chat_id, last in reached}
    missing = set(counts) - set(next_seq)
    if missing:
        raise LookupError(f"chats {sorted(missing)} are gone")
    out: dict[int, list[dict[str, Any]]] = {}
    all_rows: list[dict[str, Any]] = []
    outbox_rows: list[dict[str, Any]] = []
    for r in batch:
        first = next_seq[r.chat_id]
        next_seq[r.chat_id] = first + len(r.items)
        rows = _message_rows(r.chat_id, r.account_id, r.items, r.ids, first_seq=first, now=r.now,
                             tmp_send_id=r.tmp_send_id, context=r.context, agent=r.agent)
        out[id(r)] = rows
        all_rows += rows
        outbox_rows += [_outbox_row(row, item) for row, item in zip(rows, r.items, strict=True)]
    await INSERT_MESSAGES.executemany(conn, all_rows)
    await outbox_store.enqueue(conn, outbox_rows)
    for r in batch:
        if r.events is not None:
            for row in out[id(r)]:
                await r.events.publish(conn, MESSAGE_CREATED, message=row)
            await r.events.publish(conn, CHAT_UPDATED, chat_id=r.chat_id, fields=PREVIEW_FIELDS)
    return out


# A group's chats: sequence numbers taken and the preview of the last message, one row per chat.
_ADVANCE_CHATS = Prepared(
    chats.update()
    .where(chats.c.id == sa.bindparam("b_id"))
    .values(
        last_seq=chats.c.last_seq + sa.bindparam("b_n", type_=sa.BigInteger),
        last_message=sa.bindparam("b_preview", type_=chats.c.last_message.type),
        last_message_at=sa.bindparam("b_ts", type_=sa.BigInteger),
        updated_at=sa.bindparam("b_ts", type_=sa.BigInteger),
    )
)
_LAST_SEQS = sa.select(chats.c.id, chats.c.last_seq).where(chats.c.id.in_(sa.bindparam("b_ids", expanding=True)))
