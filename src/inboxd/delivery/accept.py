"""Accepting outgoing messages: the messages, their outbox rows, the chat's sequence numbers
and the idempotency key commit in one transaction, before anything is sent.

Idempotency (`tmpSendId` or `Idempotency-Key`): per chat, for 24 hours, a repeat returns the
first request's messages and sends nothing; the same key with a different body is 409. The
key's row is inserted in the same transaction as the messages, so of 20 simultaneous identical
requests exactly one commits messages and the others replay it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.errors import Conflict
from inboxd.domain.ids import new_id
from inboxd.domain.status import MessageStatus
from inboxd.domain.texter import last_message_preview
from inboxd.domain_events import MESSAGE_CREATED, DomainEvents
from inboxd.store import chats as chats_store
from inboxd.store import outbox as outbox_store
from inboxd.store.db import Database, is_unique_violation
from inboxd.store.tables import idempotency_keys, messages
from inboxd.store.upsert import insert_for

IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000

OnAccept = Callable[[AsyncConnection, list[dict[str, Any]]], Awaitable[None]]


@dataclass(frozen=True)
class OutgoingItem:
    type: str
    content: dict[str, Any]


@dataclass(frozen=True)
class Idempotency:
    key: str
    request_hash: str


@dataclass(frozen=True)
class Accepted:
    message_ids: list[str]
    replay: bool


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
        raise Conflict(
            "This idempotency key (tmpSendId or Idempotency-Key) was already used on this chat with a "
            "different request.",
            code="idempotency_key_reused",
        )
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
    is skipped on a replay."""
    ids = message_ids or [new_id() for _ in items]
    try:
        async with db.write() as conn:
            if idempotency is not None and not await _claim_key(conn, chat_id, idempotency, ids, now):
                raise _KeyTaken
            rows = await stage_outgoing(
                conn, chat_id, account_id, items, ids=ids, now=now, tmp_send_id=tmp_send_id, context=context,
                agent=agent, events=events,
            )
            if on_accept is not None:
                await on_accept(conn, rows)
    except _KeyTaken:
        pass
    except Exception as exc:
        if idempotency is None or not is_unique_violation(exc):
            raise
    else:
        return Accepted(ids, replay=False)
    # Another request with this key committed first: answer with its result.
    async with db.read() as conn:
        replay = await _replay(conn, chat_id, idempotency, now)  # type: ignore[arg-type]
    assert replay is not None
    return replay


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
    rows = [
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
    await conn.execute(messages.insert(), rows)
    await outbox_store.enqueue(
        conn,
        [
            {
                "id": new_id(),
                "message_id": row["id"],
                "chat_id": chat_id,
                "channel_account_id": account_id,
                "seq": row["seq"],
                "attempts": 0,
                "due_at": now,
                "created_at": now,
            }
            for row in rows
        ],
    )
    last = items[-1]
    await chats_store.record_outgoing(
        conn, chat_id, timestamp=now, preview=last_message_preview(last.type, last.content), now=now
    )
    if events is not None:
        for row in rows:
            await events.publish(conn, MESSAGE_CREATED, message=row)
    return rows


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
