"""A chat's properties: `displayName`, `crmData`, `crmDeepLink` (Update Chat Properties §5.6,
Update CRM Data §5.7, a template send's `setChat`). Status, agent, department and `externalBot`
belong to the lifecycle (`chats.lifecycle`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.errors import PayloadTooLarge
from inboxd.domain_events import CHAT_UPDATED, DomainEvents
from inboxd.store.tables import chats

MAX_CRM_DATA_BYTES = 64 * 1024  # the chat's whole crmData, as JSON

# Texter field → chats column, for the properties set here.
COLUMNS = {"displayName": "display_name", "crmData": "crm_data", "crmDeepLink": "crm_deep_link"}


def merge_crm_data(current: Mapping[str, Any] | None, patch: Mapping[str, Any]) -> dict[str, Any]:
    """Update CRM Data's merge, RFC 7396 (JSON Merge Patch): objects merge key by key, at every
    depth; any other value (string, number, array, …) replaces what was there; `null` removes
    the key."""
    out = dict(current or {})
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_crm_data(out[key], value)
        elif isinstance(value, dict):
            out[key] = merge_crm_data({}, value)
        else:
            out[key] = value
    return out


def check_crm_data_size(data: Mapping[str, Any] | None) -> None:
    size = len(orjson.dumps(data or {}))
    if size > MAX_CRM_DATA_BYTES:
        raise PayloadTooLarge(
            f"crmData would be {size} bytes as JSON; a chat's crmData is at most {MAX_CRM_DATA_BYTES} bytes.",
            code="crm_data_too_large",
            details=[{"path": "body.crmData", "reason": f"at most {MAX_CRM_DATA_BYTES} bytes as JSON (got {size})"}],
        )


async def set_properties(
    conn: AsyncConnection, chat_id: str, changes: Mapping[str, Any], events: DomainEvents, now: int
) -> None:
    """Write `changes` ({Texter field: value}; None removes displayName / crmDeepLink, empties
    crmData) and publish `inboxd.chat.updated`. An empty `changes` writes nothing."""
    if not changes:
        return
    values: dict[str, Any] = {COLUMNS[field]: value for field, value in changes.items()}
    values["updated_at"] = now
    await conn.execute(chats.update().where(chats.c.id == chat_id).values(**values))
    await events.publish(conn, CHAT_UPDATED, chat_id=chat_id, fields=[*sorted(changes), "updatedAt"])
