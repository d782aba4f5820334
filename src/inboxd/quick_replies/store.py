"""Quick replies in the database (`quick_replies`, and `quick_reply_targets` for `forChat`),
and their Texter shape (reference §8)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.quick_replies.model import QuickReplyFields
from inboxd.store.paging import page
from inboxd.store.tables import quick_replies as Q
from inboxd.store.tables import quick_reply_targets as T


def _columns(fields: QuickReplyFields) -> dict[str, Any]:
    return {
        "contents": fields.contents,
        "content_types": "," + ",".join(fields.content_types) + ",",
        "between_messages_delay": fields.between_messages_delay,
        "target": fields.target,
        "position": fields.position,
        "title": fields.title,
        "note": fields.note,
        "departments": fields.departments,
        "users": fields.users,
        "client": fields.client,
    }


def fields_of(row: Mapping[str, Any]) -> QuickReplyFields:
    return QuickReplyFields(
        contents=list(row["contents"]),
        target=list(row["target"]),
        between_messages_delay=row["between_messages_delay"],
        position=row["position"],
        title=row["title"],
        note=row["note"],
        departments=list(row["departments"]),
        users=list(row["users"]),
        client=row["client"],
    )


def shape(row: Mapping[str, Any]) -> dict[str, Any]:
    """The Quick Reply object. Unset optional values (`betweenMessagesDelay`, `title`, `note`,
    `metadata.client`) are left out."""
    send: dict[str, Any] = {"contents": row["contents"], "target": row["target"]}
    if row["between_messages_delay"] is not None:
        send["betweenMessagesDelay"] = row["between_messages_delay"]
    display: dict[str, Any] = {"position": row["position"]}
    for key in ("title", "note"):
        if row[key] is not None:
            display[key] = row[key]
    display["departments"] = row["departments"]
    display["users"] = row["users"]
    metadata: dict[str, Any] = {"created": row["created_at"], "updated": row["updated_at"]}
    if row["client"] is not None:
        metadata["client"] = row["client"]
    return {"_id": row["id"], "send": send, "display": display, "metadata": metadata}


async def _set_targets(conn: AsyncConnection, quick_reply_id: str, target: list[dict[str, str]]) -> None:
    await conn.execute(T.delete().where(T.c.quick_reply_id == quick_reply_id))
    await conn.execute(
        T.insert(),
        [{"quick_reply_id": quick_reply_id, "position": i, "channel": t["name"], "account_id": t["accountId"],
          "chat_id": t.get("id")} for i, t in enumerate(target)],
    )


async def insert(conn: AsyncConnection, quick_reply_id: str, fields: QuickReplyFields, now: int) -> dict[str, Any]:
    values = {"id": quick_reply_id, **_columns(fields), "created_at": now, "updated_at": now}
    await conn.execute(Q.insert().values(**values))
    await _set_targets(conn, quick_reply_id, fields.target)
    return values


async def get(conn: AsyncConnection, quick_reply_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    query = sa.select(Q).where(Q.c.id == quick_reply_id)
    if for_update and conn.dialect.name == "postgresql":  # SQLite: the write transaction already excludes others
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else dict(row)


async def update(
    conn: AsyncConnection, row: dict[str, Any], fields: QuickReplyFields, now: int, *, targets_changed: bool
) -> dict[str, Any]:
    values = {**_columns(fields), "updated_at": now}
    await conn.execute(Q.update().where(Q.c.id == row["id"]).values(**values))
    if targets_changed:
        await _set_targets(conn, row["id"], fields.target)
    return {**row, **values}


async def delete(conn: AsyncConnection, quick_reply_id: str) -> bool:
    await conn.execute(T.delete().where(T.c.quick_reply_id == quick_reply_id))
    return (await conn.execute(Q.delete().where(Q.c.id == quick_reply_id))).rowcount == 1


SORT_COLUMNS = {"sortTitle": "title", "sortCreated": "created_at", "sortUpdated": "updated_at"}


@dataclass(frozen=True)
class ForChat:
    channel: str
    account_id: str
    chat_id: str | None = None


@dataclass(frozen=True)
class QuickReplyQuery:
    skip: int = 0
    limit: int = 1000
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("sortCreated", "desc")])
    for_chat: ForChat | None = None
    position: str | None = None
    content_types: list[str] | None = None


def _order(sort: list[tuple[str, str]]) -> list[sa.ColumnElement[Any]]:
    order: list[sa.ColumnElement[Any]] = []
    for name, direction in sort:
        column = Q.c[SORT_COLUMNS[name]]
        if name == "sortTitle":  # untitled last either way; then case-insensitively, then as written
            order.append(sa.case((column.is_(None), 1), else_=0))
            keys = [sa.func.lower(column), column]
        else:
            keys = [column]
        order += [k.desc() if direction == "desc" else k.asc() for k in keys]
    last = sort[-1][1] if sort else "desc"
    order.append(Q.c.id.desc() if last == "desc" else Q.c.id.asc())
    return order


async def search(conn: AsyncConnection, query: QuickReplyQuery) -> tuple[list[dict[str, Any]], int]:
    where: list[sa.ColumnElement[bool]] = []
    if query.for_chat is not None:
        chat = query.for_chat
        applies = T.c.chat_id.is_(None) if chat.chat_id is None else sa.or_(T.c.chat_id.is_(None), T.c.chat_id == chat.chat_id)
        where.append(
            sa.exists().where(T.c.quick_reply_id == Q.c.id, T.c.channel == chat.channel,
                              T.c.account_id == chat.account_id, applies)
        )
    if query.position:
        where.append(Q.c.position == query.position)
    if query.content_types:
        where.append(sa.or_(*(Q.c.content_types.contains(f",{t},", autoescape=True) for t in query.content_types)))
    return await page(conn, Q, where, _order(query.sort), skip=query.skip, limit=query.limit)
