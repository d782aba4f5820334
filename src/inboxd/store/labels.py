"""Labels and the labels of chats.

A chat's labels live twice: `chats.labels` (the ordered list every Chat rendering shows) and
`chat_labels` (one row per label and chat, the index Search Chats' `labels[]` filter reads on both
databases). `write_chat_labels` is the only code that writes either, so they never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.labels import SYSTEM_LABELS
from inboxd.store.tables import chat_labels, chats, labels
from inboxd.store.upsert import insert_for

_ORDER = (labels.c.system.desc(), labels.c.created_at, labels.c.id)
_CHUNK = 500


async def list_labels(conn: AsyncConnection, *, limit: int, skip: int) -> tuple[list[sa.RowMapping], int]:
    """System labels first, then the others in creation order."""
    rows = list((await conn.execute(sa.select(labels).order_by(*_ORDER).limit(limit).offset(skip))).mappings())
    total = (await conn.execute(sa.select(sa.func.count()).select_from(labels))).scalar_one()
    return rows, total


async def get_label(conn: AsyncConnection, label_id: str) -> sa.RowMapping | None:
    return (await conn.execute(sa.select(labels).where(labels.c.id == label_id))).mappings().first()


async def create_label(conn: AsyncConnection, *, label_id: str, name: str, color: str, now: int) -> bool:
    """False when a label with this id exists (the unique key decides, also under concurrency)."""
    stmt = (
        insert_for(conn, labels)
        .values(id=label_id, name=name, color=color, system=False, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(labels.c.id)
    )
    return (await conn.execute(stmt)).first() is not None


async def update_label(conn: AsyncConnection, label_id: str, values: dict[str, str], now: int) -> bool:
    result = await conn.execute(labels.update().where(labels.c.id == label_id).values(**values, updated_at=now))
    return result.rowcount == 1


async def ensure_system_labels(conn: AsyncConnection, now: int) -> None:
    """The system labels, for a database that lost them (the migration creates them)."""
    rows = [{"id": i, **v, "system": True, "created_at": now, "updated_at": now} for i, v in SYSTEM_LABELS.items()]
    await conn.execute(insert_for(conn, labels).on_conflict_do_nothing(index_elements=["id"]), rows)


async def existing_ids(conn: AsyncConnection, ids: Iterable[str]) -> set[str]:
    """The ids that are labels, key-share-locked on PostgreSQL until commit: a label being
    deleted meanwhile waits for this change, or this change waits and finds it gone (a rename
    waits for neither). Labels are locked before chats, by every transaction."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return set()
    query = sa.select(labels.c.id).where(labels.c.id.in_(wanted)).order_by(labels.c.id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(read=True, key_share=True)
    return set((await conn.execute(query)).scalars())


async def lock_label(conn: AsyncConnection, label_id: str) -> sa.RowMapping | None:
    """The label, locked until commit on PostgreSQL (see `existing_ids`)."""
    query = sa.select(labels).where(labels.c.id == label_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def chats_with_label(conn: AsyncConnection, label_id: str) -> list[str]:
    query = sa.select(chat_labels.c.chat_id).where(chat_labels.c.label_id == label_id).order_by(chat_labels.c.chat_id)
    return list((await conn.execute(query)).scalars())


async def delete_label(conn: AsyncConnection, label_id: str) -> None:
    """Delete the label row (its chat rows must be gone: `write_chat_labels` removes them)."""
    await conn.execute(labels.delete().where(labels.c.id == label_id))


async def lock_chat_labels(conn: AsyncConnection, chat_ids: list[str]) -> dict[str, list[str]]:
    """{chat id: its labels} for these chats, locked until commit on PostgreSQL (in id order, the
    order every multi-chat transaction locks chats in)."""
    found: dict[str, list[str]] = {}
    ordered = sorted(set(chat_ids))
    for start in range(0, len(ordered), _CHUNK):  # a label may be on more chats than a statement takes
        query = (
            sa.select(chats.c.id, chats.c.labels)
            .where(chats.c.id.in_(ordered[start : start + _CHUNK]))
            .order_by(chats.c.id)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        found.update({chat_id: list(value or []) for chat_id, value in (await conn.execute(query)).all()})
    return found


async def write_chat_labels(
    conn: AsyncConnection, chat_id: str, *, new: list[str], added: list[str], removed: list[str], now: int
) -> None:
    """Give the chat its new labels: the rendered list and the index rows, together."""
    if removed:
        await conn.execute(
            chat_labels.delete().where(chat_labels.c.chat_id == chat_id, chat_labels.c.label_id.in_(removed))
        )
    if added:
        stmt = insert_for(conn, chat_labels).on_conflict_do_nothing(index_elements=["label_id", "chat_id"])
        await conn.execute(stmt, [{"label_id": label_id, "chat_id": chat_id} for label_id in added])
    values: dict[str, Any] = {"labels": new, "updated_at": now}
    await conn.execute(chats.update().where(chats.c.id == chat_id).values(**values))


def has_any_label(label_ids: list[str], *, probe: bool) -> sa.ColumnElement[bool]:
    """Search Chats' `labels[]` (any of), through `chat_labels`' primary key (label_id, chat_id).
    `probe`: another filter's index drives the search, and each chat it yields is looked up in
    `chat_labels` (a few seeks per chat). Otherwise the labels drive: their rows give the chat
    ids, each a primary-key lookup (SQLite would otherwise walk every chat, probing each)."""
    if probe:
        return sa.exists(sa.select(1).where(chat_labels.c.chat_id == chats.c.id, chat_labels.c.label_id.in_(label_ids)))
    return chats.c.id.in_(sa.select(chat_labels.c.chat_id).where(chat_labels.c.label_id.in_(label_ids)))
