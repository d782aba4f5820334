"""Template rows → the Template object of Texter §7.1.

Field names as in the reference (`_id`, `name`, `title`, `usage`, `chatStatus`, `created` in
epoch ms, `updatedAt` ISO, `departments`, `isDefault`, `channelInfo`, `defaults`,
`localizationDrafts`, `provider_template {name, category, localizations[], metadata}`); the
optional reply behaviour (`setBotNode`, `bot`, `replyText`, `responsibleAgent`,
`responsibleDepartment`, `attachedFile`) only when set. A localization's `createdAt` and
`lastUpdated` are epoch ms; its `metadata.providerTemplateId` is Meta's id for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inboxd.domain.clock import iso_from_ms

PROVIDER = "whatsapp"  # the channel adapter owning the template: WhatsApp's Cloud API

_OPTIONAL = {
    "set_bot_node": "setBotNode",
    "bot": "bot",
    "reply_text": "replyText",
    "responsible_agent": "responsibleAgent",
    "responsible_department": "responsibleDepartment",
    "attached_file": "attachedFile",
}


def template_object(row: Mapping[str, Any], localizations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "_id": row["id"],
        "name": row["name"],
        "title": row["title"],
        "usage": row["usage"],
        "chatStatus": row["chat_status"],
        "created": row["created_at"],
        "updatedAt": iso_from_ms(row["updated_at"]),
        "departments": row["departments"],
        "isDefault": bool(row["is_default"]),
        "provider": PROVIDER,
        "channelInfo": {"name": "whatsapp", "accountId": row["account_phone"]},
    }
    out.update({key: row[column] for column, key in _OPTIONAL.items() if row[column] is not None})
    out["defaults"] = row["defaults"] or {}
    out["localizationDrafts"] = row["drafts"] or {}
    out["provider_template"] = {
        "name": row["provider_name"],
        "category": row["category"],
        "localizations": [localization_object(loc) for loc in localizations],
        "metadata": {},
    }
    return out


def localization_object(row: Mapping[str, Any]) -> dict[str, Any]:
    metadata = dict(row["meta"] or {})
    if row["provider_template_id"]:
        metadata["providerTemplateId"] = row["provider_template_id"]
    out: dict[str, Any] = {
        "language": row["language"],
        "status": row["status"],
        "components": row["components"],
        "rejectionReason": row["rejection_reason"] or "NONE",
        "metadata": metadata,
        "createdAt": row["created_at"],
        "lastUpdated": row["updated_at"],
    }
    if row["quality_score"] is not None:
        out["qualityScore"] = row["quality_score"]
    return out


def has_header(localizations: Sequence[Mapping[str, Any]]) -> bool:
    return any(
        str(c.get("type", "")).upper() == "HEADER" for loc in localizations for c in loc["components"] or []
    )
