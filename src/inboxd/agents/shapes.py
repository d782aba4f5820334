"""The JSON shapes of agents and departments, each rendered in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inboxd.domain.clock import iso_from_ms


def agent(row: Mapping[str, Any], departments: list[str], open_chats: int) -> dict[str, Any]:
    """The public Agent object (never a password or its hash). `openChats`: PENDING + ASSIGNED."""
    return {
        "uid": row["uid"],
        "email": row["email"],
        "displayName": row["display_name"],
        "crmId": row["crm_id"],
        "roles": list(row["roles"]),
        "departments": departments,
        "active": bool(row["active"]),
        "presence": row["presence"],
        "maxOpenChats": row["max_open_chats"],
        "openChats": open_chats,
        "created": iso_from_ms(row["created_at"]),
        "updatedAt": iso_from_ms(row["updated_at"]),
    }


def event_agent(row: Mapping[str, Any]) -> dict[str, Any]:
    """The `agent` a Chat Assigned event provides (§10.2 reads `_id`, `crmId`, `email`,
    `displayName`, `roles` from it)."""
    return {
        "_id": row["uid"],
        "crmId": row["crm_id"],
        "email": row["email"],
        "displayName": row["display_name"],
        "roles": list(row["roles"]),
    }


def chat_agent(row: Mapping[str, Any] | None) -> dict[str, Any]:
    """A chat's `agent {uid, displayName}` (unassigned: `{"uid": null, "displayName": ""}`)."""
    if row is None:
        return {"uid": None, "displayName": ""}
    return {"uid": row["uid"], "displayName": row["display_name"]}


def department(row: Mapping[str, Any], members: list[str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "assignment": row["assignment"],
        "members": members,
        "created": iso_from_ms(row["created_at"]),
        "updatedAt": iso_from_ms(row["updated_at"]),
    }
