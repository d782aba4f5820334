"""What the providers of an event hold: Texter's Message and Chat objects (reference §3.3, §5.1)
and the status report of `app.message.statusRequest`, rendered from stored rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inboxd.domain import texter
from inboxd.domain.status import MessageStatus
from inboxd.store.tables import messages

FAILED_STATUSES = (int(MessageStatus.FAILED), int(MessageStatus.CHANNEL_FAILED))


def chat_info(chat_row: Mapping[str, Any]) -> dict[str, str]:
    return texter.channel_info(chat_row["channel"], chat_row["contact_id"], chat_row["account_phone"])


def chat(chat_row: Mapping[str, Any]) -> dict[str, Any]:
    """The full chat, as webhooks carry it: Search Chats' rendering plus `lastMessage` and
    `personChats` (which the reference lists as webhook-only; inboxd links no chats across
    channels, so it holds the chat itself)."""
    out = texter.chat_object(chat_row, chat_row["channel"], chat_row["account_phone"])
    info = chat_info(chat_row)
    out["personChats"] = [{"name": info["name"], "accountId": info["accountId"], "id": info["id"]}]
    return out


def full_row(message_row: Mapping[str, Any]) -> dict[str, Any]:
    """Every column of `messages`: a publisher may pass the dict it inserted, which leaves out
    the columns it did not set."""
    return {column.name: message_row.get(column.name) for column in messages.c}


def message(message_row: Mapping[str, Any], chat_row: Mapping[str, Any]) -> dict[str, Any]:
    return texter.message(full_row(message_row), chat_info(chat_row))


def status_report(message_row: Mapping[str, Any], chat_row: Mapping[str, Any]) -> dict[str, Any]:
    """The `messageStatusRequest` provider: the message's status now, when it got it (ms), the
    provider ids (`externalId[]` in the event), the error only for failed (4, 5), and the chat's
    channel identity. Texter's status events carry no message `_id`; `messageId` is an addition
    that only custom templates can ask for."""
    message_row = full_row(message_row)
    status = int(message_row["status"])
    history = message_row["status_history"] or []
    timestamp = next((e["timestamp"] for e in reversed(history) if e.get("status") == status), None)
    return {
        "status": status,
        "error": message_row["error"] if status in FAILED_STATUSES else None,
        "timestamp": timestamp if timestamp is not None else message_row["updated_at"],
        "ids": [message_row["external_id"]] if message_row["external_id"] else [],
        "chat": chat_info(chat_row),
        "messageId": message_row["id"],
    }
