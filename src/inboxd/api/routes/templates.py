"""Templates (reference §7): list, send, (un)subscription, and management. docs/templates.md.

Literal paths (`/send`, `/unsubscribe`, `/subscribe`, `/unsubscribed`) are declared before
`/{accountId}`, which would otherwise take them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from inboxd.api.contract import answers, link, ok
from inboxd.api.deps import get_services, require
from inboxd.api.query import limit_param, skip_param
from inboxd.api.request_body import body_examples, json_body, prefers_async
from inboxd.api.request_body import idempotency_key as idempotency_key_header
from inboxd.api.responses import JSON
from inboxd.api.schemas import ACCOUNT
from inboxd.api.sending import accept_then_wait, channel_rejected, sending_errors
from inboxd.delivery.session import window_closed
from inboxd.domain import texter
from inboxd.domain.clock import iso_from_ms, now_ms
from inboxd.domain.errors import (
    ChannelRejected,
    ChannelUnavailable,
    Conflict,
    InvalidRequest,
    NotFound,
    Problems,
    RuleRefused,
    problem,
)
from inboxd.domain.ids import new_id
from inboxd.domain.scopes import Scope
from inboxd.domain.status import MessageStatus
from inboxd.services import Services
from inboxd.store import chats as chats_store
from inboxd.store import messages as messages_store
from inboxd.templates import lifecycle, subscriptions
from inboxd.templates import limits as L
from inboxd.templates.phones import PhoneProblem, normalize_phone
from inboxd.templates.send_request import parse_template_send
from inboxd.templates.sending import Outcome, send_template
from inboxd.templates.validation import obj, text

router = APIRouter(tags=["templates"])

BoolFlag = Annotated[str | None, Query(pattern="^(1|0|true|false)$")]

# 132001: the template (name + language) does not exist or is not approved at Meta.
META_NOT_APPROVED = 132001

_CREATE_EXAMPLE = {"title": "Example Template", "category": "MARKETING", "chatStatus": 1, "usage": "inbox"}
_LOCALIZATION_EXAMPLE = {
    "language": "en",
    "components": [
        {"type": "BODY", "text": "Hi {{1}}, order {{2}} is ready", "example": {"body_text": [["Dana", "15033"]]}},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"}, {"type": "QUICK_REPLY", "text": "STOP"}]},
    ],
    "defaults": {"body": ["there", "—"]},
}
_SEND_EXAMPLES = {
    "simple": {"value": {"templateName": "inbox_marketing_98", "to": "972521234567"}},
    "values": {"value": {"templateName": "inbox_utility_66", "to": "+34 673 49 41 48", "body": ["first value", "second value"]}},
    "everything": {
        "value": {
            "templateName": "order_ready", "to": "0521234567", "from": "972509876543", "language": "he",
            "body": ["Dana", "15033"], "header": {"url": "https://example.com/receipt.pdf", "filename": "receipt.pdf"},
            "buttons": [{"index": 0, "text": "15033"}],
            "replyAction": {"chatStatus": 3, "replyText": "Thanks, see you soon!"},
            "setChat": {"displayName": "Dana", "crmData": {"orderId": 15033}},
            "sessionMessage": {}, "tmpSendId": "crm-order-15033",
        }
    },
}


# Error examples of the operations below (api/contract.py).
NO_ACCOUNT = lifecycle.account_not_found(ACCOUNT)
NO_TEMPLATE = lifecycle.template_not_found("order_ready", ACCOUNT)
NAME_TAKEN = Conflict("The account already has a template named 'order_ready' (names are case-insensitive).",
                      code="template_name_taken")
ALREADY_SUBMITTED = RuleRefused("The localization 'en' was already submitted (status PENDING).",
                                code="localization_already_submitted")
BAD_PHONE = InvalidRequest("The request is not valid: body.phone: not a phone number.",
                           details=[problem("body.phone", "not a phone number")])
NO_WABA = RuleRefused("The account has no WhatsApp Business Account id.", code="account_without_waba")
GRAPH_FAILURES = (
    ChannelRejected("WhatsApp refused: (#100) Invalid parameter", code="channel_rejected",
                    extra={"channelError": {"code": 100, "message": "Invalid parameter"}}),
    ChannelUnavailable("WhatsApp did not answer: timed out", code="channel_unavailable",
                       extra={"channelError": {"message": "timed out"}}),
)
_TEMPLATE_LINKS = {
    "PutLocalization": link("Create or Update Localization", accountId="$request.path.accountId", templateName="$response.body#/name"),
    "Update": link("Update Existing Template", accountId="$request.path.accountId", templateName="$response.body#/name"),
    "Delete": link("Delete Template", accountId="$request.path.accountId", templateName="$response.body#/name"),
}


def _flag(value: str | None) -> bool | None:
    return None if value is None else value in ("1", "true")


# ----------------------------------------------------------------------------- list


@router.get(
    "/whatsapp/templates",
    summary="List All Templates",
    description=(
        "A JSON array of templates: those with an APPROVED localization, or all with `includeAll=true`. "
        "`accountId` keeps one channel account's; `hasHeader=true|false` keeps templates with / without a "
        "header; `sync=true` (needs `accountId`) first reads the account's templates from WhatsApp."
    ),
    **require(Scope.VIEW_TEMPLATE_MESSAGES),
    **answers(ok("TemplateList"), NO_ACCOUNT, NO_WABA, *GRAPH_FAILURES),
)
async def list_templates(
    services: Annotated[Services, Depends(get_services)],
    account_id: Annotated[str | None, Query(alias="accountId", max_length=64)] = None,
    include_all: Annotated[BoolFlag, Query(alias="includeAll")] = None,
    has_header: Annotated[BoolFlag, Query(alias="hasHeader")] = None,
    sync: BoolFlag = None,
) -> JSON:
    found = await lifecycle.list_templates(
        services, account_phone=account_id, include_all=bool(_flag(include_all)), has_header=_flag(has_header),
        sync=bool(_flag(sync)), now=now_ms(),
    )
    return JSON(found)


# ----------------------------------------------------------------------------- send


@router.post(
    "/whatsapp/templates/send",
    summary="Send Template Message",
    description=(
        "Send an approved template to a phone number (any common format), creating the chat when the contact "
        "has none. Idempotent by `tmpSendId` or `Idempotency-Key`; `Prefer: respond-async` answers 202 once "
        "stored. An unsubscribed recipient answers 200 with `success: false`. See docs/templates.md."
    ),
    **require(Scope.SEND_TEMPLATE_MESSAGES, openapi_extra=body_examples(_SEND_EXAMPLES)),
    **answers(
        ok("TemplateSendResult", headers=["Idempotent-Replay"],
           links={"GetChat": link("Get Chat by Chat ID", "The chat it went to", chatId="$response.body#/chatId")}),
        ok("TemplateSent", 202, description="Stored and on its way (`Prefer: respond-async`).",
           headers=["Preference-Applied"]),
        InvalidRequest("body.language: the template has several languages; name one.", code="language_required",
                       details=[problem("body.language", "the template has several languages; name one")]),
        NO_ACCOUNT, NO_TEMPLATE,
        RuleRefused("The template has no APPROVED localization in en.", code="template_not_approved"),
        *sending_errors("body.header.url", "document"),
    ),
)
async def send(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    prefer: Annotated[str | None, Header()] = None,
) -> JSON:
    req = parse_template_send(await json_body(request, empty=None), default_country_code=services.settings.default_country_code)
    key = idempotency_key_header(idempotency_key, req.tmp_send_id)
    respond_async = prefers_async(prefer)
    count = len(req.session_message.message_contents()) if req.session_message is not None else 1
    ids = [new_id() for _ in range(count)]
    outcome = await accept_then_wait(
        services,
        ids,
        lambda: send_template(services, req, idempotency_key=key, now=now_ms(), message_ids=ids),
        wait=not respond_async,
    )
    if outcome.unsubscribed_at is not None:
        date = iso_from_ms(outcome.unsubscribed_at)
        return JSON({
            "success": False,
            "error": f"Recipient unsubscribed from template messages on {date}.",
            "code": "recipient_unsubscribed",
            "details": [],
            "unsubscribed": {"date": date},
            "chatId": outcome.chat_id,
        })
    return await _sent(services, outcome, respond_async)


async def _sent(services: Services, outcome: Outcome, respond_async: bool) -> JSON:
    async with services.db.read() as conn:
        chat = await chats_store.get_chat(conn, outcome.chat_id or "")
        rows = await messages_store.get_messages(conn, outcome.message_ids)
    assert chat is not None
    info = texter.channel_info(chat["channel"], chat["contact_id"], chat["account_phone"])
    shaped = [texter.message(r, info) for r in rows]
    body = {
        "success": True,
        "text": outcome.text,
        "sentAsSessionMessage": outcome.session,
        "messageId": outcome.message_ids[0],
        "chatId": outcome.chat_id,
        "messages": shaped,
    }
    if outcome.replay:
        return JSON(body, headers={"Idempotent-Replay": "true"})
    if respond_async:
        return JSON(body, status_code=202, headers={"Preference-Applied": "respond-async"})
    failed = [r for r in rows if r["status"] in (MessageStatus.FAILED, MessageStatus.CHANNEL_FAILED)]
    if rows and len(failed) == len(rows):
        error = failed[0]["error"] or {}
        refusal: RuleRefused | ChannelRejected
        if error.get("code") == META_NOT_APPROVED:
            refusal = RuleRefused(
                f"WhatsApp refused the template as not approved: {error.get('message') or ''}".strip(),
                code="template_not_approved", extra={"channelError": error},
            )
        elif error.get("code") == 131047:
            refusal = window_closed(chat["last_incoming_at"])
        else:
            refusal = channel_rejected(error)
        refusal.extra.update({"messageId": outcome.message_ids[0], "chatId": outcome.chat_id, "messages": shaped})
        raise refusal
    return JSON(body)


# ----------------------------------------------------------------------------- (un)subscription


def _subscription_body(body: Any, services: Services) -> tuple[str, str | None]:
    problems = Problems()
    phone = None
    if obj(body, "body", problems, ("phone", "accountId")) is not None:
        raw = text(body.get("phone"), "body.phone", problems, L.TO)
        if raw is not None:
            try:
                phone = normalize_phone(raw, default_country_code=services.settings.default_country_code)
            except PhoneProblem as exc:
                problems.add("body.phone", str(exc))
        if body.get("accountId") is not None:
            text(body["accountId"], "body.accountId", problems, L.TO)
    problems.raise_if_any("The request is not valid")
    assert phone is not None
    return phone, body.get("accountId")


@router.post(
    "/whatsapp/templates/unsubscribe",
    summary="Unsubscribe from Templates",
    **require(Scope.MANAGE_ALL_CHATS),
    **answers(ok("Success"), BAD_PHONE, NO_ACCOUNT),
)
async def unsubscribe(request: Request, services: Annotated[Services, Depends(get_services)]) -> JSON:
    phone, account_phone = _subscription_body(await json_body(request, empty=None), services)
    async with services.db.write() as conn:
        account = await lifecycle.load_account(conn, account_phone) if account_phone else None
        accounts = await subscriptions.accounts_for(conn, account)
        await subscriptions.unsubscribe(conn, accounts, phone, now_ms(), services.events)
    return JSON({"success": True})


@router.post(
    "/whatsapp/templates/subscribe",
    summary="Resubscribe to Templates",
    **require(Scope.MANAGE_ALL_CHATS),
    **answers(ok("Success"), BAD_PHONE, NO_ACCOUNT),
)
async def subscribe(request: Request, services: Annotated[Services, Depends(get_services)]) -> JSON:
    phone, account_phone = _subscription_body(await json_body(request, empty=None), services)
    async with services.db.write() as conn:
        account = await lifecycle.load_account(conn, account_phone) if account_phone else None
        accounts = await subscriptions.accounts_for(conn, account)
        await subscriptions.subscribe(conn, accounts, phone, now_ms(), services.events)
    return JSON({"success": True})


Limit = limit_param(int(L.UNSUBSCRIBED_LIMIT.max or 1), minimum=int(L.UNSUBSCRIBED_LIMIT.min or 1))
Skip = skip_param(int(L.UNSUBSCRIBED_SKIP.max or 0))


@router.get(
    "/whatsapp/templates/unsubscribed",
    summary="List All Unsubscribed Users",
    **require(Scope.LIST_ALL_CHATS),
    **answers(ok("UnsubscribedUsers")),
)
async def unsubscribed(
    services: Annotated[Services, Depends(get_services)], limit: Limit = 10_000, skip: Skip = 0
) -> JSON:
    async with services.db.read() as conn:
        return JSON(await subscriptions.list_unsubscribed(conn, None, limit=limit, skip=skip))


@router.get(
    "/whatsapp/templates/unsubscribed/{accountId}",
    summary="Unsubscribed from Specific Account",
    **require(Scope.LIST_ALL_CHATS),
    **answers(ok("UnsubscribedUsers"), NO_ACCOUNT),
)
async def unsubscribed_from_account(
    accountId: str,  # noqa: N803
    services: Annotated[Services, Depends(get_services)],
    limit: Limit = 10_000,
    skip: Skip = 0,
) -> JSON:
    async with services.db.read() as conn:
        account = await lifecycle.load_account(conn, accountId)
        return JSON(await subscriptions.list_unsubscribed(conn, account, limit=limit, skip=skip))


# ----------------------------------------------------------------------------- management


@router.post(
    "/whatsapp/templates/{accountId}",
    summary="Create New Template",
    **require(Scope.MANAGE_WHATSAPP_TEMPLATES, openapi_extra=body_examples({"create": {"value": _CREATE_EXAMPLE}})),
    **answers(ok("Template", links=_TEMPLATE_LINKS), NO_ACCOUNT, NAME_TAKEN),
)
async def create(accountId: str, request: Request, services: Annotated[Services, Depends(get_services)]) -> JSON:  # noqa: N803
    return JSON(await lifecycle.create_template(services, accountId, await json_body(request, empty=None), now_ms()))


@router.post(
    "/whatsapp/templates/{accountId}/{templateName}/localizations",
    summary="Create or Update Localization",
    **require(Scope.MANAGE_WHATSAPP_TEMPLATES,
              openapi_extra=body_examples({"localization": {"value": _LOCALIZATION_EXAMPLE}})),
    **answers(
        ok("Template", links={"Submit": link("Submit Template for Approval", "Submit the localization for approval",
                                             accountId="$request.path.accountId", templateName="$request.path.templateName",
                                             language="$request.body#/language")}),
        NO_ACCOUNT, NO_TEMPLATE, ALREADY_SUBMITTED,
    ),
)
async def put_localization(
    accountId: str,  # noqa: N803
    templateName: str,  # noqa: N803
    request: Request,
    services: Annotated[Services, Depends(get_services)],
) -> JSON:
    body = await json_body(request, empty=None)
    return JSON(await lifecycle.put_draft(services, accountId, templateName, body, now_ms()))


@router.post(
    "/whatsapp/templates/{accountId}/{templateName}/localizations/{language}/submit",
    summary="Submit Template for Approval",
    **require(Scope.MANAGE_WHATSAPP_TEMPLATES),
    **answers(
        ok("Template"), NO_ACCOUNT, NO_TEMPLATE,
        NotFound("Template 'order_ready' has no draft or localization in 'he'.", code="localization_not_found"),
        ALREADY_SUBMITTED, NO_WABA, *GRAPH_FAILURES,
    ),
)
async def submit(
    accountId: str,  # noqa: N803
    templateName: str,  # noqa: N803
    language: str,
    services: Annotated[Services, Depends(get_services)],
) -> JSON:
    return JSON(await lifecycle.submit(services, accountId, templateName, language, now_ms()))


@router.patch(
    "/whatsapp/templates/{accountId}/{templateName}",
    summary="Update Existing Template",
    **require(Scope.MANAGE_WHATSAPP_TEMPLATES,
              openapi_extra=body_examples({"update": {"value": {"title": "Updated Template", "chatStatus": 3}}})),
    **answers(ok("Template", links=_TEMPLATE_LINKS), NO_ACCOUNT, NO_TEMPLATE, NAME_TAKEN),
)
async def update(
    accountId: str,  # noqa: N803
    templateName: str,  # noqa: N803
    request: Request,
    services: Annotated[Services, Depends(get_services)],
) -> JSON:
    body = await json_body(request, empty=None)
    return JSON(await lifecycle.update_template(services, accountId, templateName, body, now_ms()))


@router.delete(
    "/whatsapp/templates/{accountId}/{templateName}",
    summary="Delete Template",
    description='Deletes the template here and at WhatsApp (every language). Answers `"OK"`.',
    **require(Scope.MANAGE_WHATSAPP_TEMPLATES),
    **answers(ok("OkString"), NO_ACCOUNT, NO_TEMPLATE, *GRAPH_FAILURES),
)
async def delete(
    accountId: str,  # noqa: N803
    templateName: str,  # noqa: N803
    services: Annotated[Services, Depends(get_services)],
) -> JSON:
    await lifecycle.delete_template(services, accountId, templateName)
    return JSON("OK")
