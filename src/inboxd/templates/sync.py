"""Template statuses from Meta: the `message_template_status_update` webhook, and a sync on
demand (List All Templates with `sync=true`) that reads the WABA's templates from Graph.

Meta's status is taken as it comes (the newest word wins), with two exceptions: REINSTATED
means approved again, and FLAGGED is a quality warning that leaves the template sendable (it is
recorded in the localization's `metadata.flagged`, the status stays).

The sync also imports templates that exist at Meta but not in inboxd (made in Meta's UI, or
Meta's sample `hello_world`), so they can be sent: title = name, usage `inbox`, chatStatus 1
(PENDING), components as Meta has them. A localization inboxd had submitted that Meta no longer
lists becomes DELETED.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.channels.whatsapp.inbound_parser import OtherChange
from inboxd.domain.ids import new_id
from inboxd.domain.status import ChatStatus
from inboxd.store.accounts import ChannelAccount
from inboxd.templates import store

if TYPE_CHECKING:
    from inboxd.services import Services

log = logging.getLogger(__name__)

STATUS_FIELD = "message_template_status_update"
_ALIASES = {"REINSTATED": "APPROVED"}
IMPORTED_CHAT_STATUS = int(ChatStatus.PENDING)


def local_status(meta_status: Any) -> str:
    status = str(meta_status or "").upper()
    return _ALIASES.get(status, status)


def _reason(value: Any) -> str | None:
    return None if value in (None, "", "NONE") else str(value)


async def on_status_update(conn: AsyncConnection, change: OtherChange, now: int) -> None:
    """The webhook handler (inside the webhook event's transaction)."""
    value = change.value
    event = local_status(value.get("event"))
    provider_id = value.get("message_template_id")
    provider_id = str(provider_id) if provider_id is not None else None
    name, language = value.get("message_template_name"), value.get("message_template_language")
    loc = await store.find_localization_for_update(conn, change.waba_id, provider_id, name, language)
    if loc is None or not event:
        log.info("template status update for a template inboxd does not know: %s %s %s", name, language, event)
        return
    values: dict[str, Any] = {"updated_at": now}
    if provider_id:
        values["provider_template_id"] = provider_id
    if event == "FLAGGED":
        values["meta"] = {**(loc["meta"] or {}), "flagged": True}
    else:
        values["status"] = event
        values["rejection_reason"] = _reason(value.get("reason"))
    await store.update_localization(conn, loc["template_id"], loc["language"], values)


async def sync_account(services: Services, account: ChannelAccount, now: int) -> None:
    """Bring the account's localizations in line with what Graph lists (GraphError and
    ValueError, for an account without a WABA id, pass through)."""
    listed = await services.graph.list_templates(account)
    async with services.db.write() as conn:
        local = {t["provider_name"]: dict(t) for t in await store.list_templates(conn, account.id)}
        locs = await store.localizations(conn, [t["id"] for t in local.values()])
        seen: set[tuple[str, str]] = set()
        for meta_template in listed:
            name = str(meta_template.get("name") or "").lower()
            language = str(meta_template.get("language") or "")
            if not name or not language:
                continue
            seen.add((name, language))
            template = local.get(name)
            if template is None:
                template = await _import(conn, account, meta_template, now)
                local[name] = template
                locs[template["id"]] = []
            await _sync_localization(conn, template, locs[template["id"]], meta_template, now)
        for template in local.values():
            for loc in locs.get(template["id"], []):
                gone = (template["provider_name"], loc["language"]) not in seen
                if gone and loc["status"] not in (*store.LOCAL_STATUSES, "DELETED"):
                    await store.update_localization(conn, template["id"], loc["language"],
                                                    {"status": "DELETED", "updated_at": now})


async def _import(conn: AsyncConnection, account: ChannelAccount, meta_template: dict[str, Any], now: int) -> dict[str, Any]:
    name = str(meta_template["name"])
    values = {
        "id": new_id(), "channel_account_id": account.id, "name": name, "provider_name": name.lower(),
        "title": name, "usage": "inbox", "category": str(meta_template.get("category") or "UTILITY").upper(),
        "chat_status": IMPORTED_CHAT_STATUS, "is_default": False, "departments": [], "defaults": {}, "drafts": {},
        "created_at": now, "updated_at": now,
    }
    await store.insert_template(conn, values)
    return values


async def _sync_localization(
    conn: AsyncConnection, template: dict[str, Any], locs: list[Any], meta_template: dict[str, Any], now: int
) -> None:
    language = str(meta_template["language"])
    status = local_status(meta_template.get("status"))
    values: dict[str, Any] = {
        "status": status,
        "rejection_reason": _reason(meta_template.get("rejected_reason")),
        "provider_template_id": str(meta_template["id"]) if meta_template.get("id") is not None else None,
    }
    if isinstance(meta_template.get("quality_score"), dict):
        values["quality_score"] = meta_template["quality_score"]
    loc = next((x for x in locs if x["language"] == language), None)
    if loc is None:
        components = meta_template.get("components")
        await store.put_localization(conn, {
            "template_id": template["id"], "language": language, "components": components if isinstance(components, list) else [],
            "meta": {}, "quality_score": None, "created_at": now, "updated_at": now, **values,
        })
    elif any(loc[k] != v for k, v in values.items()):
        await store.update_localization(conn, template["id"], language, {**values, "updated_at": now})
    category = meta_template.get("category")
    if isinstance(category, str) and category and category.upper() != template["category"]:
        await store.update_template(conn, template["id"], {"category": category.upper()})
        template["category"] = category.upper()
