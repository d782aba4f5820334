"""Chats: one per (channel account, contact), created idempotently under concurrency."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.ids import new_id
from inboxd.domain.lifecycle import INITIAL_STATUS
from inboxd.store.tables import channel_accounts, chats
from inboxd.store.upsert import insert_for


async def ensure_chat(
    conn: AsyncConnection,
    *,
    chat_id: str,
    channel_account_id: str,
    contact_id: str,
    title: str | None,
    now: int,
    created: set[str] | None = None,
) -> str:
    """The id of the chat for this contact, creating it if needed (safe under concurrency: the
    unique key decides, and the loser of a race gets the winner's row). A chat this created is
    added to `created`: its caller opens it (`chats.lifecycle.Lifecycle.open`)."""
    stmt = insert_for(conn, chats).values(
        id=chat_id,
        channel_account_id=channel_account_id,
        contact_id=contact_id,
        title=title,
        status=int(INITIAL_STATUS),
        unread_count=0,
        labels=[],
        created_at=now,
        updated_at=now,
        last_seq=0,
    )
    set_: dict[str, Any] = {"updated_at": stmt.excluded.updated_at}
    if title:
        set_["title"] = stmt.excluded.title
    stmt = stmt.on_conflict_do_update(index_elements=["channel_account_id", "contact_id"], set_=set_)
    found = (await conn.execute(stmt.returning(chats.c.id))).scalar_one()
    if created is not None and found == chat_id:
        created.add(found)
    return found


async def record_incoming(
    conn: AsyncConnection, chat_id: str, *, timestamp: int, preview: dict[str, Any], now: int
) -> None:
    """A new incoming message: the window moves (by WhatsApp's clock, never backwards), the
    preview follows the newest message, one more unread."""
    newer = sa.or_(chats.c.last_message_at.is_(None), chats.c.last_message_at <= timestamp)
    await conn.execute(
        chats.update()
        .where(chats.c.id == chat_id)
        .values(
            last_incoming_at=sa.case(
                (sa.or_(chats.c.last_incoming_at.is_(None), chats.c.last_incoming_at < timestamp), timestamp),
                else_=chats.c.last_incoming_at,
            ),
            last_message=sa.case(
                (newer, sa.bindparam(None, preview, type_=chats.c.last_message.type)), else_=chats.c.last_message
            ),
            last_message_at=sa.case((newer, timestamp), else_=chats.c.last_message_at),
            unread_count=chats.c.unread_count + 1,
            updated_at=now,
        )
    )


async def record_outgoing(
    conn: AsyncConnection, chat_id: str, *, timestamp: int, preview: dict[str, Any], now: int
) -> None:
    await conn.execute(
        chats.update()
        .where(chats.c.id == chat_id)
        .values(last_message=preview, last_message_at=timestamp, updated_at=now)
    )


async def next_seq(conn: AsyncConnection, chat_id: str, count: int = 1) -> int:
    """Reserve `count` outbound sequence numbers; returns the first. Locks the chat row until
    commit, so sequence order is acceptance (commit) order."""
    result = await conn.execute(
        chats.update().where(chats.c.id == chat_id).values(last_seq=chats.c.last_seq + count).returning(chats.c.last_seq)
    )
    return result.scalar_one() - count + 1


_CHAT_WITH_ACCOUNT = sa.select(chats, channel_accounts.c.channel, channel_accounts.c.account_id.label("account_phone")).join(
    channel_accounts, channel_accounts.c.id == chats.c.channel_account_id
)


# Built once: every Send a Message loads its chat, and building the statement each time cost as
# much as running it (docs/benchmarks.md).
_CHAT_BY_ID = _CHAT_WITH_ACCOUNT.where(chats.c.id == sa.bindparam("b_chat_id"))


async def get_chat(conn: AsyncConnection, chat_id: str) -> sa.RowMapping | None:
    row = (await conn.execute(_CHAT_BY_ID, {"b_chat_id": chat_id})).mappings().first()
    return row


_CHATS_BY_IDS = _CHAT_WITH_ACCOUNT.where(chats.c.id.in_(sa.bindparam("b_ids", expanding=True))).order_by(chats.c.id)
_CHATS_BY_IDS_LOCKED = _CHATS_BY_IDS.with_for_update(of=chats)  # (SQLite leaves FOR UPDATE out)


async def get_chats(conn: AsyncConnection, chat_ids: list[str], *, lock: bool = False) -> list[sa.RowMapping]:
    """The chats with these ids (with their channel and account phone), in id order; `lock`
    takes their row locks on PostgreSQL, in that order. (The live log reads its transaction's
    chats with this: built once, like `_CHAT_BY_ID`.)"""
    query = _CHATS_BY_IDS_LOCKED if lock else _CHATS_BY_IDS
    return list((await conn.execute(query, {"b_ids": chat_ids})).mappings())


# What `chats.lifecycle.Lifecycle.apply` reads of a chat row (a caller that locks the row for a
# transition may read only these).
LIFECYCLE_COLUMNS = [
    chats.c[name]
    for name in ("id", "channel_account_id", "status", "agent_uid", "agent_display_name", "department_id", "external_bot")
]


async def lock_chat(conn: AsyncConnection, chat_id: str) -> sa.RowMapping | None:
    """`get_chat`, with the chat's row locked until the transaction ends (PostgreSQL)."""
    query = _CHAT_WITH_ACCOUNT.where(chats.c.id == chat_id).with_for_update(of=chats)
    return (await conn.execute(query)).mappings().first()


async def find_chat(conn: AsyncConnection, channel_account_id: str, contact_id: str) -> sa.RowMapping | None:
    query = _CHAT_WITH_ACCOUNT.where(chats.c.channel_account_id == channel_account_id, chats.c.contact_id == contact_id)
    return (await conn.execute(query)).mappings().first()


@dataclass
class ChatSearch:
    search: str | None = None
    channel: str | None = None
    account_id: str | None = None
    labels: list[str] | None = None
    statuses: list[int] | None = None
    include_empty: bool = False
    limit: int = 30
    skip: int = 0


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_conditions(conn: AsyncConnection, q: ChatSearch) -> list[sa.ColumnElement[bool]]:
    conds: list[sa.ColumnElement[bool]] = []
    if not q.include_empty:
        conds.append(chats.c.last_message_at.is_not(None))
    if q.channel:
        conds.append(channel_accounts.c.channel == q.channel)
    if q.account_id:
        conds.append(channel_accounts.c.account_id == q.account_id)
    if q.statuses:
        conds.append(chats.c.status.in_(q.statuses))
    if q.labels:
        if conn.dialect.name == "postgresql":
            conds.append(chats.c.labels.op("?|")(sa.cast(sa.literal(q.labels), sa.ARRAY(sa.Text))))
        else:
            each = sa.func.json_each(chats.c.labels).table_valued("value")
            conds.append(sa.exists(sa.select(1).select_from(each).where(each.c.value.in_(q.labels))))
    if q.search:
        needle = f"%{_like_escape(q.search.lower())}%"
        matches = [
            sa.func.lower(chats.c.title).like(needle, escape="\\"),
            sa.func.lower(chats.c.display_name).like(needle, escape="\\"),
        ]
        digits = re.sub(r"\D", "", q.search)
        for candidate in {digits, digits.lstrip("0")}:
            if len(candidate) >= 2:
                matches.append(chats.c.contact_id.like(f"%{candidate}%"))
        conds.append(sa.or_(*matches))
    return conds


async def search_chats(conn: AsyncConnection, q: ChatSearch) -> tuple[list[sa.RowMapping], int]:
    conds = _search_conditions(conn, q)
    page = (
        _CHAT_WITH_ACCOUNT.where(*conds)
        .order_by(chats.c.last_message_at.desc().nulls_last(), chats.c.id.desc())
        .limit(q.limit)
        .offset(q.skip)
    )
    rows = list((await conn.execute(page)).mappings())
    count = (
        sa.select(sa.func.count())
        .select_from(chats.join(channel_accounts, channel_accounts.c.id == chats.c.channel_account_id))
        .where(*conds)
    )
    total = (await conn.execute(count)).scalar_one()
    return rows, total


async def ensure_chats(
    conn: AsyncConnection,
    *,
    channel_account_id: str,
    contacts: dict[str, str | None],
    now: int,
    created: set[str] | None = None,
) -> dict[str, str]:
    """`ensure_chat` for many contacts of one account: {contact_id: chat_id}, in a few
    statements whatever the count. The missing chats are inserted at once with ON CONFLICT DO
    NOTHING (a concurrent webhook for the same new contact makes one chat, as with the upsert);
    every chat this did not create is touched like the upsert's conflict branch (title when
    given, `updated_at`). The ids of the chats this created are added to `created`."""
    found = await _chat_ids(conn, channel_account_id, list(contacts))
    missing = [c for c in contacts if c not in found]
    created_contacts: set[str] = set()
    if missing:
        rows = [
            {"id": new_id(), "channel_account_id": channel_account_id, "contact_id": contact,
             "title": contacts[contact], "status": int(INITIAL_STATUS), "unread_count": 0, "labels": [],
             "created_at": now, "updated_at": now, "last_seq": 0}
            for contact in missing
        ]
        stmt = (
            insert_for(conn, chats)
            .on_conflict_do_nothing(index_elements=["channel_account_id", "contact_id"])
            .returning(chats.c.contact_id)
        )
        created_contacts = set((await conn.execute(stmt, rows)).scalars())
        found.update(await _chat_ids(conn, channel_account_id, missing))
        if created is not None:
            created.update(found[c] for c in created_contacts)
    # rows locked in chat id order by every transaction (PostgreSQL: no deadlock between processes)
    touched = sorted(((c, chat_id) for c, chat_id in found.items() if c not in created_contacts), key=lambda t: t[1])
    if touched:
        await conn.execute(
            _TOUCH_CHAT,
            [{"b_id": chat_id, "b_title": contacts[contact] or None, "b_now": now} for contact, chat_id in touched],
        )
    return found


async def _chat_ids(conn: AsyncConnection, channel_account_id: str, contact_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(contact_ids), 500):
        query = sa.select(chats.c.contact_id, chats.c.id).where(
            chats.c.channel_account_id == channel_account_id, chats.c.contact_id.in_(contact_ids[start : start + 500])
        )
        found.update({contact: chat_id for contact, chat_id in (await conn.execute(query)).all()})
    return found


_TOUCH_CHAT = (
    chats.update()
    .where(chats.c.id == sa.bindparam("b_id"))
    .values(title=sa.func.coalesce(sa.bindparam("b_title", type_=sa.Text), chats.c.title), updated_at=sa.bindparam("b_now"))
)


def _record_incoming_stmt() -> sa.Update:
    ts = sa.bindparam("b_ts", type_=sa.BigInteger)
    newer = sa.or_(chats.c.last_message_at.is_(None), chats.c.last_message_at <= ts)
    return (
        chats.update()
        .where(chats.c.id == sa.bindparam("b_id"))
        .values(
            last_incoming_at=sa.case(
                (sa.or_(chats.c.last_incoming_at.is_(None), chats.c.last_incoming_at < ts), ts),
                else_=chats.c.last_incoming_at,
            ),
            last_message=sa.case(
                (newer, sa.bindparam("b_preview", type_=chats.c.last_message.type)), else_=chats.c.last_message
            ),
            last_message_at=sa.case((newer, ts), else_=chats.c.last_message_at),
            unread_count=chats.c.unread_count + sa.bindparam("b_count", type_=sa.Integer),
            updated_at=sa.bindparam("b_now", type_=sa.BigInteger),
        )
    )


_RECORD_INCOMING = _record_incoming_stmt()


async def record_incoming_many(conn: AsyncConnection, items: list[tuple[str, int, dict[str, Any]]], now: int) -> None:
    """`record_incoming` for many new incoming messages, (chat_id, timestamp, preview) in
    arrival order, in one executemany: per chat, the newest message (the later one of equal
    timestamps) gives the window and the preview, and unread grows by the count — what applying
    them one by one gives."""
    per_chat: dict[str, dict[str, Any]] = {}
    for chat_id, timestamp, preview in items:
        entry = per_chat.get(chat_id)
        if entry is None:
            per_chat[chat_id] = {"b_id": chat_id, "b_ts": timestamp, "b_preview": preview, "b_count": 1, "b_now": now}
            continue
        entry["b_count"] += 1
        if timestamp >= entry["b_ts"]:
            entry["b_ts"], entry["b_preview"] = timestamp, preview
    if per_chat:
        await conn.execute(_RECORD_INCOMING, [per_chat[c] for c in sorted(per_chat)])
