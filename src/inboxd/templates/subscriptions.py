"""Template (un)subscription (Texter §7.5): a contact who unsubscribed gets no template messages
(Send Template Message answers 200 `success: false` and sends nothing).

The one record of it is the chat's `unsubscribed_at` (shown as `chat.unsubscribed.date`), per
channel account and contact. Unsubscribing a phone that has no chat yet creates the (empty) chat
to hold it; without `accountId` every WhatsApp account is meant. A contact also unsubscribes by
writing a stop word (`INBOXD_TEMPLATE_STOP_WORDS`, default "הסר" and "STOP") as the whole
message, or by tapping a template button whose text or payload is one; only the API subscribes
them again. Every change publishes `domain.chat.unsubscribed` / `domain.chat.subscribed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.chats.lifecycle import Lifecycle
from inboxd.domain import lifecycle
from inboxd.domain.clock import iso_from_ms
from inboxd.domain.ids import new_id
from inboxd.domain_events import CHAT_SUBSCRIBED, CHAT_UNSUBSCRIBED, DomainEvents
from inboxd.store import accounts as accounts_store
from inboxd.store import chats as chats_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.tables import channel_accounts, chats

# Characters around a stop word that do not make it another word ("STOP!", " הסר.").
_AROUND = " \t\r\n.,!?;:'\"()-\u200e\u200f"


def stop_words(setting: str) -> frozenset[str]:
    return frozenset(w.strip().casefold() for w in setting.split(",") if w.strip())


def is_stop_word(message: Mapping[str, Any], words: Iterable[str]) -> bool:
    """Whether an incoming message is a stop word on its own: a text, or a tapped button (a
    template quick reply) whose title or payload is one."""
    content = message["content"]
    if message["type"] == "text":
        candidates = [content.get("text")]
    elif message["type"] == "postback":
        postback = content.get("postback") or {}
        candidates = [postback.get("title"), postback.get("payload")]
    else:
        return False
    wanted = set(words)
    return any(isinstance(c, str) and c.strip(_AROUND).casefold() in wanted for c in candidates)


async def mark_unsubscribed(conn: AsyncConnection, chat_id: str, now: int, events: DomainEvents) -> bool:
    """True when the chat was subscribed until now (an earlier unsubscribe keeps its date)."""
    result = await conn.execute(
        chats.update()
        .where(chats.c.id == chat_id, chats.c.unsubscribed_at.is_(None))
        .values(unsubscribed_at=now, updated_at=now)
    )
    if result.rowcount != 1:
        return False
    await events.publish(conn, CHAT_UNSUBSCRIBED, chat_id=chat_id)
    return True


async def mark_subscribed(conn: AsyncConnection, chat_id: str, now: int, events: DomainEvents) -> bool:
    result = await conn.execute(
        chats.update()
        .where(chats.c.id == chat_id, chats.c.unsubscribed_at.is_not(None))
        .values(unsubscribed_at=None, updated_at=now)
    )
    if result.rowcount != 1:
        return False
    await events.publish(conn, CHAT_SUBSCRIBED, chat_id=chat_id)
    return True


async def accounts_for(conn: AsyncConnection, account: ChannelAccount | None) -> list[ChannelAccount]:
    return [account] if account is not None else await accounts_store.list_accounts(conn, "whatsapp")


async def unsubscribe(
    conn: AsyncConnection, accounts: list[ChannelAccount], contact_id: str, now: int, events: DomainEvents
) -> None:
    for account in accounts:
        opened: set[str] = set()
        chat_id = await chats_store.ensure_chat(
            conn, chat_id=new_id(), channel_account_id=account.id, contact_id=contact_id, title=None, now=now,
            created=opened,
        )
        await Lifecycle(events).open(conn, opened, lifecycle.opened_by_business(bulk=False), lifecycle.INBOXD, now)
        await mark_unsubscribed(conn, chat_id, now, events)


async def subscribe(
    conn: AsyncConnection, accounts: list[ChannelAccount], contact_id: str, now: int, events: DomainEvents
) -> None:
    for account in accounts:
        chat = await chats_store.find_chat(conn, account.id, contact_id)
        if chat is not None:
            await mark_subscribed(conn, chat["id"], now, events)


async def list_unsubscribed(
    conn: AsyncConnection, account: ChannelAccount | None, *, limit: int, skip: int
) -> list[dict[str, Any]]:
    """`[{phone, title?, accountId, date}]`, oldest unsubscribe first (`accountId` and `date`
    are additive: one entry per account the contact unsubscribed from)."""
    query = (
        sa.select(chats.c.contact_id, chats.c.title, chats.c.display_name, chats.c.unsubscribed_at,
                  channel_accounts.c.account_id)
        .join(channel_accounts, channel_accounts.c.id == chats.c.channel_account_id)
        .where(chats.c.unsubscribed_at.is_not(None), channel_accounts.c.channel == "whatsapp")
        .order_by(chats.c.unsubscribed_at, chats.c.id)
        .limit(limit)
        .offset(skip)
    )
    if account is not None:
        query = query.where(chats.c.channel_account_id == account.id)
    out = []
    for row in await conn.execute(query):
        entry: dict[str, Any] = {"phone": f"+{row.contact_id}"}
        title = row.display_name or row.title
        if title:
            entry["title"] = title
        entry["accountId"] = row.account_id
        entry["date"] = iso_from_ms(row.unsubscribed_at)
        out.append(entry)
    return out
