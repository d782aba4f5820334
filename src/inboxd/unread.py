"""An agent reads a chat (`POST /chats/{chatId}/read`): the unread count goes to 0 (announced as
`inboxd.chat.updated`), and — when the channel account sends read receipts — WhatsApp is told
that the contact's last message was read.

The receipt is a side effect after the commit, and best effort: the chat is read whatever Graph
answers (or if it does not answer within `RECEIPT_TIMEOUT_SECONDS`); the answer says what
happened to the receipt (docs/labels.md). Nothing is retried: a later read sends the receipt of
the newest message again, which covers every earlier one.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum

from inboxd.channels.whatsapp.errors import GraphError
from inboxd.domain.clock import now_ms
from inboxd.domain.errors import chat_not_found
from inboxd.domain_events import CHAT_UPDATED
from inboxd.services import Services
from inboxd.store import accounts as accounts_store
from inboxd.store import unread as unread_store

log = logging.getLogger(__name__)

RECEIPT_TIMEOUT_SECONDS = 5.0


class Receipt(StrEnum):
    SENT = "sent"  # WhatsApp took the receipt
    FAILED = "failed"  # Graph refused it or did not answer in time (logged)
    OFF = "off"  # the channel account does not send read receipts
    NONE = "none"  # nothing was unread: no receipt to send


async def mark_chat_read(services: Services, chat_id: str) -> Receipt:
    async with services.db.write() as conn:
        marked = await unread_store.mark_read(conn, chat_id, now_ms())
        if marked is None:
            raise chat_not_found(chat_id)
        if marked.was_unread:
            await services.events.publish(conn, CHAT_UPDATED, chat_id=chat_id, fields=["unreadCount"])
        account = await accounts_store.get_account(conn, marked.channel_account_id)
    if not marked.was_unread or marked.last_incoming_external_id is None:
        return Receipt.NONE
    if account is None or not account.read_receipts:
        return Receipt.OFF
    try:
        await asyncio.wait_for(
            services.graph.mark_read(account, marked.last_incoming_external_id), RECEIPT_TIMEOUT_SECONDS
        )
    except (GraphError, TimeoutError) as exc:
        log.warning("read receipt for chat %s not sent: %s", chat_id, exc)
        return Receipt.FAILED
    return Receipt.SENT
