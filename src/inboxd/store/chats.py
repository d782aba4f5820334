"""Chats: one per (channel account, contact), created idempotently under concurrency."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from inboxd.domain.ids import new_id
from inboxd.domain.lifecycle import INITIAL_STATUS
from inboxd.domain.status import ChatStatus
from inboxd.store import search_index
from inboxd.store.db import Database
from inboxd.store.labels import has_any_label
from inboxd.store.reads import batched
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


async def _chats_by_id(conn: AsyncConnection, chat_ids: list[str]) -> dict[str, sa.RowMapping]:
    return {row["id"]: row for row in await get_chats(conn, chat_ids)}


async def read_chat(db: Database, chat_id: str) -> sa.RowMapping | None:
    """`get_chat` in a read of its own, shared with the other chats asked for at the same time
    (store/reads.py: the hot paths load their chat this way)."""
    return await batched(db, _chats_by_id).get(chat_id)



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
    agent_uid: str | None = None  # inboxd addition
    department_id: str | None = None  # inboxd addition
    include_empty: bool = False
    limit: int = 30
    skip: int = 0
    view: Any = None  # an agent's `agents.visibility.ChatView`: only the chats they see


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The statuses of the chats being worked (BOT, PENDING, ASSIGNED): a backlog whose size follows
# the team, not the history, unlike RESOLVED and BULK, which grow with every chat ever had.
BACKLOG_STATUSES = frozenset({int(ChatStatus.BOT), int(ChatStatus.PENDING), int(ChatStatus.ASSIGNED)})


def _backlog_only(q: ChatSearch) -> bool:
    return bool(q.statuses) and set(q.statuses or ()) <= BACKLOG_STATUSES


def _search_conditions(conn: AsyncConnection, q: ChatSearch) -> list[sa.ColumnElement[bool]]:
    """Every filter is on `chats` itself, so each can use an index of `chats`: status, agent and
    department have one each that continues with (last_message_at, id), the sort order, so a
    page walks it backwards and stops; `labels[]` reads `chat_labels`' primary key — probed per
    chat when another filter drives, driving the search when it is the only one."""
    other = _not_driving(conn, q)
    conds: list[sa.ColumnElement[bool]] = []
    if not q.include_empty:
        conds.append(chats.c.last_message_at.is_not(None))
    if q.channel or q.account_id:
        account = sa.select(channel_accounts.c.id)
        if q.channel:
            account = account.where(channel_accounts.c.channel == q.channel)
        if q.account_id:
            account = account.where(channel_accounts.c.account_id == q.account_id)
        conds.append(other(chats.c.channel_account_id).in_(account))
    if q.statuses:
        conds.append(chats.c.status.in_(q.statuses))
    if q.agent_uid:
        conds.append(other(chats.c.agent_uid) == q.agent_uid)
    if q.department_id:
        conds.append(other(chats.c.department_id) == q.department_id)
    if q.labels:
        conds.append(has_any_label(q.labels, probe=bool(q.statuses or q.agent_uid or q.department_id)))
    if q.search:
        conds.append(_term_matches(conn, q.search))
    return conds


def _not_driving(conn: AsyncConnection, q: ChatSearch) -> Callable[[sa.Column[Any]], sa.ColumnElement[Any]]:
    """On SQLite, a backlog search must walk the status index, and SQLite's planner knows only
    averages (`sqlite_stat1`, and nothing before ANALYZE): to it, PENDING is a fifth of the chats,
    so it would walk an agent's or a department's whole history instead (measured at 1 M chats:
    8.6 s against a few ms; docs/benchmarks.md). SQLite's documented way to keep a term off an
    index is a unary `+` on its column, so the other filters' columns get one. PostgreSQL's
    statistics know how frequent each value is: its planner is left to choose."""
    if conn.dialect.name == "sqlite" and _backlog_only(q):
        return lambda column: UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)
    return lambda column: column


def _term_matches(conn: AsyncConnection, term: str) -> sa.ColumnElement[bool]:
    """`search`: the title or display name contains the term (case-insensitive); a term without
    letters is also a phone number, matched on the contact's digits (with and without a leading
    0, so national and international spellings both find it). A term with letters (`Noa2`) is a
    name: its digits alone must not match every number that contains them."""
    needle = f"%{_like_escape(term.lower())}%"
    matches = [
        sa.func.lower(chats.c.title).like(needle, escape="\\"),
        sa.func.lower(chats.c.display_name).like(needle, escape="\\"),
    ]
    phones: list[str] = []
    if not any(ch.isalpha() for ch in term):
        digits = re.sub(r"\D", "", term)
        phones = [candidate for candidate in sorted({digits, digits.lstrip("0")}) if len(candidate) >= 2]
        matches += [chats.c.contact_id.like(f"%{candidate}%") for candidate in phones]
    matched = sa.or_(*matches)
    if conn.dialect.name == "sqlite":  # the trigram index narrows, the LIKEs decide (store/search_index.py)
        candidates = search_index.sqlite_candidates(term.lower(), phones)
        if candidates is not None:
            return sa.and_(candidates, matched)
    return matched


def _newest_first(conn: AsyncConnection, q: ChatSearch) -> list[sa.ColumnElement[Any]]:
    """Last message time, newest first, then id. Chats without messages (only with
    `includeEmpty`) come last: SQLite sorts NULL last in a descending order by itself; PostgreSQL
    needs NULLS LAST, which a backward index scan does not give — so it is asked for only when
    such chats can be in the result, and otherwise the index order serves the sort."""
    newest = chats.c.last_message_at.desc()
    if q.include_empty and conn.dialect.name == "postgresql":
        newest = newest.nulls_last()
    return [newest, chats.c.id.desc()]


async def search_chats(conn: AsyncConnection, q: ChatSearch) -> tuple[list[dict[str, Any]], int]:
    """A page of chats (each with its account's `channel` and `account_phone`, as `get_chat`
    gives them) and the total. The page reads `chats` alone: joined to the accounts, SQLite's
    planner can start from the (one) account and sort every chat of it."""
    page, count = search_statements(conn, q)
    rows = [dict(r) for r in (await conn.execute(page)).mappings()]
    accounts: dict[str, tuple[str, str]] = {}
    wanted = sorted({r["channel_account_id"] for r in rows})
    if wanted:
        query = sa.select(channel_accounts.c.id, channel_accounts.c.channel, channel_accounts.c.account_id).where(
            channel_accounts.c.id.in_(wanted)
        )
        accounts = {i: (channel, phone) for i, channel, phone in (await conn.execute(query)).all()}
    for r in rows:
        r["channel"], r["account_phone"] = accounts[r["channel_account_id"]]
    total = (await conn.execute(count)).scalar_one()
    return rows, total


def search_statements(conn: AsyncConnection, q: ChatSearch) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The page and the total of a search (their plans are checked by tests)."""
    conds = _search_conditions(conn, q)
    if q.view is not None:
        conds.append(q.view.condition())
    page = sa.select(chats).where(*conds).order_by(*_newest_first(conn, q)).limit(q.limit).offset(q.skip)
    return page, sa.select(sa.func.count()).select_from(chats).where(*conds)


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


async def record_incoming_many(
    conn: AsyncConnection, items: list[tuple[str, int, dict[str, Any]]], now: int
) -> list[str]:
    """`record_incoming` for many new incoming messages, (chat_id, timestamp, preview) in
    arrival order, in one executemany: per chat, the newest message (the later one of equal
    timestamps) gives the window and the preview, and unread grows by the count — what applying
    them one by one gives. Returns the chats it changed, in id order."""
    per_chat: dict[str, dict[str, Any]] = {}
    for chat_id, timestamp, preview in items:
        entry = per_chat.get(chat_id)
        if entry is None:
            per_chat[chat_id] = {"b_id": chat_id, "b_ts": timestamp, "b_preview": preview, "b_count": 1, "b_now": now}
            continue
        entry["b_count"] += 1
        if timestamp >= entry["b_ts"]:
            entry["b_ts"], entry["b_preview"] = timestamp, preview
    changed = sorted(per_chat)
    if changed:
        await conn.execute(_RECORD_INCOMING, [per_chat[c] for c in changed])
    return changed

