"""Unread counts: `chats.unread_count` counts the contact's messages since an agent last read
the chat (the inbound processor adds them, `mark_read` sets it back to 0)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.store.tables import chats, messages


@dataclass(frozen=True)
class MarkedRead:
    channel_account_id: str
    was_unread: int  # the count before
    last_incoming_external_id: str | None  # the wamid a read receipt acknowledges


async def mark_read(conn: AsyncConnection, chat_id: str, now: int) -> MarkedRead | None:
    """Set the chat's unread count to 0 (None: no such chat). The row is locked first, so an
    incoming message committing at the same time counts either before (and is read) or after."""
    query = sa.select(chats.c.unread_count, chats.c.channel_account_id).where(chats.c.id == chat_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    unread, account_id = row
    last = None
    if unread:
        await conn.execute(chats.update().where(chats.c.id == chat_id).values(unread_count=0, updated_at=now))
        last = (
            await conn.execute(
                sa.select(messages.c.external_id)
                .where(messages.c.chat_id == chat_id, messages.c.direction == "incoming",
                       messages.c.external_id.is_not(None))
                .order_by(messages.c.timestamp.desc(), messages.c.id.desc())
                .limit(1)
            )
        ).scalar()
    return MarkedRead(account_id, unread, last)
