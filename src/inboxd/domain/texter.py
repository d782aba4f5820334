"""Stored rows → the JSON shapes of the Texter API v2 (reference §3.3, §5.1–5.3).

Field names and time units exactly as in the reference: `_id`, `parent_chat`, `chatChannelInfo`,
epoch-millisecond `timestamp`s, ISO `created`/`updatedAt`, seconds in `*UpdateTime`. Our
additions (`tmpSendId`, `context`, `error`, `reactions`) are additive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inboxd.domain.clock import iso_from_ms


def channel_info(channel: str, contact_id: str, account_id: str) -> dict[str, str]:
    return {"name": channel, "id": contact_id, "accountId": account_id}


# `messages.type` of a system message: a record of a chat lifecycle transition (docs/chats.md).
SYSTEM_TYPE = "system"


def message(row: Mapping[str, Any], chat_info: dict[str, str]) -> dict[str, Any]:
    """A message. `row` has the columns of `messages`; `chat_info` is the chat's channelInfo."""
    if row["type"] == SYSTEM_TYPE:
        return system_message(row, chat_info)
    out: dict[str, Any] = {
        "_id": row["id"],
        "chatChannelInfo": chat_info,
        "channelInfo": {"id": row["external_id"]} if row["external_id"] else {},
        "direction": row["direction"],
        "parent_chat": row["chat_id"],
        "status": row["status"],
        "statusHistory": row["status_history"],
        "timestamp": row["timestamp"],
        "type": row["type"],
        "updatedAt": iso_from_ms(row["updated_at"]),
    }
    out.update(row["content"])
    for key, column in (
        ("agent", "agent"),
        ("metadata", "meta"),
        ("botSessionId", "bot_session_id"),
        ("tmpSendId", "tmp_send_id"),
        ("context", "context"),
        ("error", "error"),
    ):
        if row[column] is not None:
            out[key] = row[column]
    return out


def system_message(row: Mapping[str, Any], chat_info: dict[str, str]) -> dict[str, Any]:
    """A system message (§3.3): `systemMessage: true` and `newChatStatus`, no `direction`,
    `status`, content or `reactions`; `channelInfo.id` is a placeholder. `type` is `"system"`:
    clients read `type` on every message, and one that switches on Texter's types skips an
    unknown one. Additions: `reason` (what caused the transition), `changedBy` (an agent, an API
    token, or inboxd), and the chat's `agent` and `departmentId` after it."""
    content = row["content"]
    return {
        "_id": row["id"],
        "chatChannelInfo": chat_info,
        "channelInfo": {"id": f"system.{row['id']}"},
        "parent_chat": row["chat_id"],
        "type": SYSTEM_TYPE,
        "systemMessage": True,
        "newChatStatus": content["newChatStatus"],
        "reason": content.get("reason"),
        "changedBy": content.get("changedBy"),
        "agent": content.get("agent"),
        "departmentId": content.get("departmentId"),
        "timestamp": row["timestamp"],
        "updatedAt": iso_from_ms(row["updated_at"]),
    }


def _agent(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"uid": row["agent_uid"], "displayName": row["agent_display_name"] or ""}


def _plus(digits: str) -> str:
    return digits if digits.startswith("+") else f"+{digits}"


def chat_full(row: Mapping[str, Any], channel: str, account_id: str) -> dict[str, Any]:
    """The chat as Search Chats returns it (no `lastMessage`)."""
    out: dict[str, Any] = {
        "_id": row["id"],
        "title": row["title"],
        "agent": _agent(row),
        "channel": channel,
        "entityPhone": _plus(account_id),
        "clientPhoneE164": _plus(row["contact_id"]),
        "clientPhone": _plus(row["contact_id"]),
        "created": iso_from_ms(row["created_at"]),
        "botState": row["bot_state"] or {},
        "last_message_timestamp": row["last_message_at"],
        "lastIncomingMessageTimestamp": row["last_incoming_at"],
        "status": row["status"],
        "unreadCount": row["unread_count"],
        "labels": row["labels"],
        "channelInfo": channel_info(channel, row["contact_id"], account_id),
        "departmentId": row["department_id"],
        "crmData": row["crm_data"] or {},
        "externalBot": bool(row["external_bot"]),
        "updatedAt": iso_from_ms(row["updated_at"]),
    }
    optional = {
        "displayName": row["display_name"],
        "personId": row["person_id"],
        "image": row["image"],
        "pendingUpdateTime": row["pending_update_time"],
        "resolvedUpdateTime": row["resolved_update_time"],
        "previousBotSession": row["previous_bot_session"],
        "replyAction": row["reply_action"],
        "crmDeepLink": row["crm_deep_link"],
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    if row["unsubscribed_at"] is not None:
        out["unsubscribed"] = {"date": iso_from_ms(row["unsubscribed_at"])}
    return out


def chat_object(row: Mapping[str, Any], channel: str, account_id: str) -> dict[str, Any]:
    """The Chat object (the schema of §5.1, as chat-management endpoints answer it): Search
    Chats' rendering plus `lastMessage`."""
    out = chat_full(row, channel, account_id)
    if row["last_message"] is not None:
        out["lastMessage"] = row["last_message"]
    return out


def chat_public(row: Mapping[str, Any], channel: str, account_id: str) -> dict[str, Any]:
    """The public view of Get Chat by Chat ID: no `_id`, `labels`, `crmData`, `displayName`
    (nor `crmDeepLink`, CRM data too); the lifecycle times when set."""
    bot_state = row["bot_state"] or {}
    out = {
        "success": True,
        "title": row["title"],
        "channelInfo": channel_info(channel, row["contact_id"], account_id),
        "departmentId": row["department_id"],
        "agent": _agent(row),
        "status": row["status"],
        "created": iso_from_ms(row["created_at"]),
        "updatedAt": iso_from_ms(row["updated_at"]),
        "lastIncomingMessageTimestamp": row["last_incoming_at"],
        "lastMessage": row["last_message"],
        "unreadCount": row["unread_count"],
        "botState": {"id": bot_state["id"]} if "id" in bot_state else {},
        "lastMessageTimestamp": row["last_message_at"],
        "externalBot": bool(row["external_bot"]),
    }
    for key, column in (("pendingUpdateTime", "pending_update_time"), ("resolvedUpdateTime", "resolved_update_time")):
        if row[column] is not None:
            out[key] = row[column]
    return out


def last_message_preview(type_: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """`lastMessage`: `{type, text, media?}`."""
    preview: dict[str, Any] = {"type": type_}
    if "text" in content:
        preview["text"] = content["text"]
    elif type_ == "postback":
        preview["text"] = content["postback"].get("title") or content["postback"].get("payload")
    if "media" in content:
        preview["media"] = content["media"]
        caption = next((m.get("caption") for m in content["media"] if m.get("caption")), None)
        if caption and "text" not in preview:
            preview["text"] = caption
    return preview
