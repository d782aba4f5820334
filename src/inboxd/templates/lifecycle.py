"""Template management (Texter §7.4, §7.2): create, draft a localization, submit it to Meta,
update, delete, list.

A localization's life: a draft (`localizationDrafts`, only in inboxd) → submitted: `REQUESTED`
(committed before Graph is called, so a status webhook that overtakes Graph's answer finds it)
→ `PENDING` when Graph took it (or `SUBMIT_FAILED` when it refused; such a localization can be
drafted again and resubmitted) → `APPROVED` / `REJECTED` / `PAUSED` / `DISABLED` … as Meta
reports it (`templates.sync`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.channels.whatsapp.errors import GraphError
from inboxd.domain.errors import (
    ChannelRejected,
    ChannelUnavailable,
    Conflict,
    InvalidRequest,
    NotFound,
    RuleRefused,
    problem,
)
from inboxd.domain.ids import new_id
from inboxd.store import accounts as accounts_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import is_unique_violation
from inboxd.templates import components as C
from inboxd.templates import store
from inboxd.templates.media import resolve_header
from inboxd.templates.requests import parse_create, parse_localization, parse_update
from inboxd.templates.shapes import has_header, template_object
from inboxd.templates.sync import sync_account

if TYPE_CHECKING:
    from inboxd.services import Services

# Graph's error for "this name and language already exist at Meta" (error 100).
ALREADY_AT_META = 2388024
# Graph's error for deleting a template Meta does not have (error 100).
NOT_AT_META = 2593002
_NAME_ATTEMPTS = 5


# ----------------------------------------------------------------------------- lookups


def account_not_found(account_phone: str) -> NotFound:
    return NotFound(f"No WhatsApp channel account {account_phone!r}.", code="account_not_found")


def template_not_found(name: str, account_phone: str) -> NotFound:
    return NotFound(f"No template {name!r} on account {account_phone}.", code="template_not_found")


async def load_account(conn: AsyncConnection, account_phone: str) -> ChannelAccount:
    digits = account_phone.lstrip("+")
    account = await accounts_store.find_by_account_id(conn, "whatsapp", digits) if digits.isdigit() else None
    if account is None:
        raise account_not_found(account_phone)
    return account


async def load_template(conn: AsyncConnection, account: ChannelAccount, name: str, *, lock: bool = False) -> sa.RowMapping:
    template = await store.get_template(conn, account.id, name, lock=lock)
    if template is None:
        raise template_not_found(name, account.account_id)
    return template


async def template_json(conn: AsyncConnection, template_id: str) -> dict[str, Any]:
    row = await store.get_template_by_id(conn, template_id)
    locs = await store.localizations(conn, [template_id])
    return template_object(row, locs[template_id])


# ----------------------------------------------------------------------------- create / update / delete


async def create_template(services: Services, account_phone: str, body: Any, now: int) -> dict[str, Any]:
    values = parse_create(body)
    given_name = values.pop("name", None)
    for _attempt in range(_NAME_ATTEMPTS):
        try:
            async with services.db.write() as conn:
                account = await load_account(conn, account_phone)
                name = given_name or await store.generated_name(conn, account.id, values["usage"], values["category"])
                if given_name and await store.get_template(conn, account.id, given_name) is not None:
                    raise _taken(given_name)
                template_id = new_id()
                await store.insert_template(conn, {
                    "id": template_id, "channel_account_id": account.id, "name": name,
                    "provider_name": name.lower(), "is_default": False, "departments": [], "defaults": {},
                    "drafts": {}, "created_at": now, "updated_at": now, **values,
                })
                if values.get("is_default"):
                    await store.clear_default(conn, account.id, template_id)
                return await template_json(conn, template_id)
        except sa.exc.IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            if given_name:  # a concurrent create took the name
                raise _taken(given_name) from None
    raise Conflict("Could not generate a free template name; try again.", code="template_name_taken")


def _taken(name: str) -> Conflict:
    return Conflict(f"The account already has a template named {name!r} (names are case-insensitive).",
                    code="template_name_taken")


async def update_template(services: Services, account_phone: str, name: str, body: Any, now: int) -> dict[str, Any]:
    async with services.db.write() as conn:
        account = await load_account(conn, account_phone)
        template = await load_template(conn, account, name, lock=True)
        values = parse_update(body, template)
        await store.update_template(conn, template["id"], {**values, "updated_at": now})
        if values.get("is_default"):
            await store.clear_default(conn, account.id, template["id"])
        return await template_json(conn, template["id"])


async def delete_template(services: Services, account_phone: str, name: str) -> None:
    """Deleted at Meta first (every language of the name), then here; if Meta refuses, nothing
    is deleted."""
    async with services.db.read() as conn:
        account = await load_account(conn, account_phone)
        template = await load_template(conn, account, name)
        locs = (await store.localizations(conn, [template["id"]]))[template["id"]]
    if locs and account.waba_id:
        try:
            await services.graph.delete_template(account, template["provider_name"])
        except GraphError as exc:
            if not (exc.code == 100 and exc.subcode == NOT_AT_META):
                raise _graph_failure("WhatsApp did not delete the template", exc) from None
    async with services.db.write() as conn:
        await store.delete_template(conn, template["id"])


# ----------------------------------------------------------------------------- localizations


async def put_draft(services: Services, account_phone: str, name: str, body: Any, now: int) -> dict[str, Any]:
    draft = parse_localization(body)
    async with services.db.read() as conn:
        account = await load_account(conn, account_phone)
        template = await load_template(conn, account, name)
        await _check_draftable(conn, template, draft.language)
    defaults = dict(draft.defaults)
    header_format = C.header_format(draft.components)
    if "header" in defaults and "text" not in defaults["header"] and header_format in C.MEDIA_FORMATS:
        # Fetched now, once, rather than on every send.
        defaults["header"] = await resolve_header(services, defaults["header"], header_format, "body.defaults.header")
    async with services.db.write() as conn:
        template = await load_template(conn, account, name, lock=True)
        await _check_draftable(conn, template, draft.language)
        drafts = {**(template["drafts"] or {}),
                  draft.language: {"language": draft.language, "components": draft.components, "lastUpdated": now}}
        all_defaults = {k: v for k, v in (template["defaults"] or {}).items() if k != draft.language}
        if defaults:
            all_defaults[draft.language] = defaults
        await store.update_template(conn, template["id"], {"drafts": drafts, "defaults": all_defaults, "updated_at": now})
        return await template_json(conn, template["id"])


async def _check_draftable(conn: AsyncConnection, template: Any, language: str) -> None:
    """Only a localization Meta has not got can be drafted: never submitted, or SUBMIT_FAILED."""
    loc = await store.get_localization(conn, template["id"], language)
    if loc is not None and loc["status"] != "SUBMIT_FAILED":
        raise RuleRefused(
            f"The {language} localization of {template['name']!r} was already submitted (status {loc['status']}); "
            "Meta does not take a second version of a name and language: create a new template.",
            code="localization_already_submitted",
            extra={"status": loc["status"]},
        )


async def submit(services: Services, account_phone: str, name: str, language: str, now: int) -> dict[str, Any]:
    async with services.db.write() as conn:
        account = await load_account(conn, account_phone)
        template = await load_template(conn, account, name, lock=True)
        if not account.waba_id:
            raise RuleRefused(
                f"Channel account {account.account_id} has no WhatsApp Business Account id, which template "
                "submission needs: add it with `inboxd channels add-whatsapp … --waba-id ID`.",
                code="account_without_waba",
            )
        components = await _take_draft(conn, template, language, now)
    graph_body = {
        "name": template["provider_name"],
        "language": language,
        "category": template["category"],
        "components": components,
    }
    try:
        try:
            created = await services.graph.create_template(account, graph_body)
        except GraphError as exc:
            if not (exc.code == 100 and exc.subcode == ALREADY_AT_META):
                raise
            # Meta has it already (an earlier submit whose answer was lost): adopt Meta's state.
            await sync_account(services, account, now)
            async with services.db.write() as conn:
                await store.update_localization(  # Meta said it exists, then did not list it
                    conn, template["id"], language,
                    {"status": "SUBMIT_FAILED", "meta": {"submitError": exc.as_message_error()}, "updated_at": now},
                    only_if_status="REQUESTED",
                )
                return await template_json(conn, template["id"])
    except GraphError as exc:
        async with services.db.write() as conn:
            await store.update_localization(
                conn, template["id"], language,
                {"status": "SUBMIT_FAILED", "meta": {"submitError": exc.as_message_error()}, "updated_at": now},
                only_if_status="REQUESTED",
            )
            current = await template_json(conn, template["id"])
        error = _graph_failure("WhatsApp did not take the template", exc)
        error.code = "template_submit_failed"
        error.extra["template"] = current
        raise error from None
    async with services.db.write() as conn:
        values: dict[str, Any] = {"meta": {}, "updated_at": now}
        if created.get("id") is not None:
            values["provider_template_id"] = str(created["id"])
        await store.update_localization(conn, template["id"], language, values)
        # A status webhook may already have moved it past REQUESTED: that word is newer.
        status = str(created.get("status") or "PENDING").upper()
        await store.update_localization(conn, template["id"], language, {"status": status}, only_if_status="REQUESTED")
        category = created.get("category")
        if isinstance(category, str) and category and category.upper() != template["category"]:
            await store.update_template(conn, template["id"], {"category": category.upper()})
        return await template_json(conn, template["id"])


async def _take_draft(conn: AsyncConnection, template: Any, language: str, now: int) -> list[dict[str, Any]]:
    """Move the draft into the submitted localizations as REQUESTED; its components."""
    drafts = dict(template["drafts"] or {})
    draft = drafts.pop(language, None)
    existing = await store.get_localization(conn, template["id"], language)
    if draft is None:
        if existing is not None and existing["status"] == "SUBMIT_FAILED":
            await store.update_localization(conn, template["id"], language, {"status": "REQUESTED", "updated_at": now})
            return list(existing["components"])
        if existing is not None:
            raise RuleRefused(
                f"The {language} localization of {template['name']!r} was already submitted (status "
                f"{existing['status']}).",
                code="localization_already_submitted",
                extra={"status": existing["status"]},
            )
        raise NotFound(
            f"Template {template['name']!r} has no {language} draft: create it with POST …/localizations first.",
            code="localization_not_found",
        )
    await _check_draftable(conn, template, language)
    await store.put_localization(conn, {
        "template_id": template["id"], "language": language, "status": "REQUESTED",
        "components": draft["components"], "rejection_reason": None, "provider_template_id": None, "meta": {},
        "quality_score": None, "created_at": now, "updated_at": now,
    })
    await store.update_template(conn, template["id"], {"drafts": drafts, "updated_at": now})
    return list(draft["components"])


def _graph_failure(what: str, exc: GraphError) -> ChannelRejected | ChannelUnavailable:
    error = exc.as_message_error()
    if exc.http_status is None or exc.http_status >= 500:
        return ChannelUnavailable(f"{what}: {exc.message}", code="channel_unavailable", extra={"channelError": error})
    return ChannelRejected(f"{what}: {exc.message}", code="channel_rejected", extra={"channelError": error})


# ----------------------------------------------------------------------------- listing


async def list_templates(
    services: Services, *, account_phone: str | None, include_all: bool, has_header: bool | None, sync: bool, now: int
) -> list[dict[str, Any]]:
    """List All Templates: approved ones (with at least one APPROVED localization) unless
    `include_all`; `has_header` keeps only templates with (True) or without (False) a header."""
    if sync and account_phone is None:
        reason = "sync needs accountId: templates are synced one account at a time"
        raise InvalidRequest(f"query.sync: {reason}.", details=[problem("query.sync", reason)])
    account = None
    if account_phone is not None:
        async with services.db.read() as conn:
            account = await load_account(conn, account_phone)
    if sync and account is not None:
        try:
            await sync_account(services, account, now)
        except GraphError as exc:
            raise _graph_failure("Could not sync the templates with WhatsApp", exc) from None
        except ValueError as exc:  # no WABA id
            raise RuleRefused(str(exc), code="account_without_waba") from None
    async with services.db.read() as conn:
        rows = await store.list_templates(conn, account.id if account else None)
        locs = await store.localizations(conn, [r["id"] for r in rows])
    out = []
    for row in rows:
        mine = locs[row["id"]]
        if not include_all and not any(loc["status"] == store.APPROVED for loc in mine):
            continue
        if has_header is not None and _has_header(row, mine) != has_header:
            continue
        out.append(template_object(row, mine))
    return out


def _has_header(row: Any, locs: list[Any]) -> bool:
    drafts = [{"components": d["components"]} for d in (row["drafts"] or {}).values()]
    return has_header(locs) or has_header(drafts)
