"""Rows for read-side tests, written through the store (the same code the product uses)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.ids import new_id
from inboxd.domain.labels import apply_change
from inboxd.domain.texter import last_message_preview
from inboxd.store import chats as chats_store
from inboxd.store import labels as labels_store
from inboxd.store import messages as messages_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import Database
from inboxd.store.tables import chats


async def chat_with_messages(
    db: Database,
    account: ChannelAccount,
    contact_id: str,
    *,
    title: str | None = None,
    texts: list[tuple[int, str]] = (),  # type: ignore[assignment]
    update: dict[str, Any] | None = None,
    bot_session_id: str | None = None,
) -> str:
    async with db.write() as conn:
        chat_id = await chats_store.ensure_chat(
            conn, chat_id=new_id(), channel_account_id=account.id, contact_id=contact_id, title=title, now=1
        )
        for ts, text in texts:
            row = {
                "id": new_id(), "chat_id": chat_id, "channel_account_id": account.id, "direction": "incoming",
                "type": "text", "content": {"text": text}, "status": 2,
                "status_history": [{"status": 2, "timestamp": ts}], "external_id": f"wamid.{new_id()}",
                "timestamp": ts, "updated_at": ts, "bot_session_id": bot_session_id,
            }
            await messages_store.insert_message(conn, row)
            await chats_store.record_incoming(conn, chat_id, timestamp=ts, preview=last_message_preview("text", {"text": text}), now=ts)
        update = dict(update or {})
        if "labels" in update:  # through the one writer of a chat's labels (and its index rows)
            await give_labels(conn, chat_id, update.pop("labels"))
        if update:
            await conn.execute(sa.update(chats).where(chats.c.id == chat_id).values(**update))
    return chat_id


async def empty_chats(db: Database, account_id: str, count: int, *, first_contact: int = 972500100000) -> list[str]:
    """`count` chats without messages, one per contact from `first_contact` on."""
    out = []
    async with db.write() as conn:
        for i in range(count):
            out.append(await chats_store.ensure_chat(
                conn, chat_id=new_id(), channel_account_id=account_id, contact_id=str(first_contact + i), title=None,
                now=1))
    return out


async def give_labels(conn: AsyncConnection, chat_id: str, label_ids: list[str]) -> None:
    """The chat gets exactly these labels; labels that do not exist yet are created."""
    for label_id in label_ids:
        await labels_store.create_label(conn, label_id=label_id, name=label_id, color="#555555", now=1)
    old = (await labels_store.lock_chat_labels(conn, [chat_id]))[chat_id]
    outcome = apply_change(old, "set", label_ids)
    await labels_store.write_chat_labels(conn, chat_id, new=outcome.new, added=outcome.added,
                                         removed=outcome.removed, now=1)
