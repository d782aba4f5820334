"""The chat lifecycle's endpoints: Assign Chat (§5.4), Resolve Chat (§5.5), Update Chat
Properties (§5.6), Update CRM Data (§5.7), and inboxd's Take Chat. docs/chats.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from inboxd.api.caller import actor_of, calling_agent
from inboxd.api.contract import answers, ok
from inboxd.api.deps import get_services, require
from inboxd.api.request_body import body_examples, json_body
from inboxd.api.responses import JSON
from inboxd.api.routes.chats import load_chat
from inboxd.api.schemas import AGENT_UID, CHAT_ID
from inboxd.chats.actions import ChatActions
from inboxd.chats.requests import parse_assign, parse_crm_data, parse_patch, parse_resolve, parse_take
from inboxd.domain import texter
from inboxd.domain.errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge, chat_not_found, problem
from inboxd.domain.scopes import Scope
from inboxd.services import Services

router = APIRouter(tags=["chats"])

_ASSIGN_EXAMPLES = {
    "by phone and email": {"value": {"phone": "0521234567", "agentEmail": "demo@texterchat.com"}},
    "to a department": {"value": {"chatId": "67bf11038b24880cc966f799", "departmentId": "customer_service"}},
    "agent in a department": {"value": {"chatId": "67bf11038b24880cc966f799", "agentCrmId": "crm-7",
                                        "departmentId": "sales"}},
    "one of a phone's chats": {"value": {"phone": "+972 52-123-4567", "channel": {"name": "whatsapp",
                                         "accountId": "972509876543"}, "agentUid": "4d170fc7-5cd6-4496-98e4-f4f03a11456e"}},
    "clear the department": {"value": {"chatId": "67bf11038b24880cc966f799", "departmentId": None}},
}
_PATCH_EXAMPLES = {
    "external bot off": {"value": {"externalBot": False}},
    "display name": {"value": {"displayName": "Jane Doe"}},
    "CRM": {"value": {"crmData": {"leadId": 641225}, "crmDeepLink": "https://app.yourcrm.com/leads/641225"}},
}
_CRM_EXAMPLE = {"value": {"data": {"plan": "premium", "tags": ["vip", "whale"],
                                   "customer": {"first_name": "Niv", "last_name": "Shteingart", "lead_id": 641225}}}}

Svc = Annotated[Services, Depends(get_services)]

# The documented answers (api/contract.py): the errors these routes give.
NO_CHAT = chat_not_found(CHAT_ID)
NO_AGENT = NotFound(f"body.agentUid: no agent has the agentUid {AGENT_UID!r}.", code="agent_not_found",
                    details=[problem("body.agentUid", f"no agent has the agentUid {AGENT_UID!r}")])
AGENT_INACTIVE = InvalidRequest("body.agentUid: the agent tyler@example.com is not active.", code="agent_inactive",
                                details=[problem("body.agentUid", "the agent tyler@example.com is not active")])
EXTERNAL_BOT = Conflict("An external bot controls this chat; set externalBot to false first.",
                        code="external_bot_active")
CHAT_TAKEN = Conflict("Another agent has taken this chat; use Assign Chat to reassign it.", code="chat_taken")
CRM_TOO_LARGE = PayloadTooLarge("crmData would be 70012 bytes as JSON; a chat's crmData is at most 65536 bytes.",
                                code="crm_data_too_large",
                                details=[problem("body.crmData", "at most 65536 bytes as JSON (got 70012)")])


async def _chat_object(services: Services, chat_id: str) -> dict[str, object]:
    row = await load_chat(services, chat_id)
    return texter.chat_object(row, row["channel"], row["account_phone"])


@router.post(
    "/chats/assign",
    summary="Assign Chat",
    description=(
        "Give a chat (exactly one of `chatId` / `phone`, any common format; `channel {name, accountId}` chooses "
        "among a phone's chats) to an agent (`agentUid` | `agentEmail` | `agentCrmId`) and/or a department "
        "(`departmentId`, `null` clears it): the chat becomes PENDING for them. Answers `\"OK\"`."
    ),
    **require(Scope.MANAGE_ALL_CHATS, openapi_extra=body_examples(_ASSIGN_EXAMPLES)),
    **answers(ok("OkString"), NO_CHAT, NO_AGENT, AGENT_INACTIVE, EXTERNAL_BOT, CHAT_TAKEN, Conflict(
        "The phone +972521234567 has 2 chats; choose one with channel {name, accountId} or chatId.",
        code="ambiguous_chat", details=[problem("body.channel", f"chat {CHAT_ID} is on whatsapp account 15550001234")])),
)
async def assign(request: Request, services: Svc) -> JSON:
    req = parse_assign(await json_body(request), default_country_code=services.settings.default_country_code)
    await ChatActions(services).assign(req, actor_of(request))
    return JSON("OK")


@router.post(
    "/chats/{chatId}/take",
    summary="Take Chat (inboxd)",
    description=(
        "*inboxd addition.* The chat becomes ASSIGNED (\"Taken\") to an agent: with an API token, the agent "
        "named by `{\"agentUid\"}` (required); signed in to the web inbox, the agent who calls. Answers the Chat."
    ),
    **require(Scope.MANAGE_ALL_CHATS, openapi_extra=body_examples(
        {"for an agent": {"value": {"agentUid": "4d170fc7-5cd6-4496-98e4-f4f03a11456e"}}}, required=False)),
    **answers(ok("ChatChanged"), NO_CHAT, NO_AGENT, AGENT_INACTIVE, EXTERNAL_BOT, CHAT_TAKEN),
)
async def take(chatId: str, request: Request, services: Svc) -> JSON:  # noqa: N803
    named = parse_take(await json_body(request, empty={}))
    agent = calling_agent(request)
    if agent is not None:
        if named is not None and named.lower() != agent["uid"]:
            reason = "an agent takes a chat for themselves (Assign Chat gives it to someone else)"
            raise InvalidRequest(f"body.agentUid: {reason}.", details=[problem("body.agentUid", reason)])
        uid = agent["uid"]
    elif named is None:
        reason = "is required with an API token: the agent who takes the chat"
        raise InvalidRequest(f"body.agentUid {reason}.", details=[problem("body.agentUid", reason)])
    else:
        uid = named
    await ChatActions(services).take(chatId, uid, actor_of(request))
    return JSON({"success": True, **await _chat_object(services, chatId)})


@router.post(
    "/chats/{chatId}/resolve",
    summary="Resolve Chat",
    description=(
        "RESOLVED from any status. `{\"notifyClient\": true}` first sends the channel account's resolution message "
        "(inside the 24-hour window; otherwise the chat is still resolved and `notification.sent` is false, with "
        "the reason). Answers `{\"success\": true}` (and `notification` when asked to notify)."
    ),
    **require(Scope.MANAGE_ALL_CHATS,
              openapi_extra=body_examples({"notify": {"value": {"notifyClient": True}}}, required=False)),
    **answers(ok("ChatResolved"), NO_CHAT),
)
async def resolve(chatId: str, request: Request, services: Svc) -> JSON:  # noqa: N803
    notify = parse_resolve(await json_body(request, empty={}))
    notification = await ChatActions(services).resolve(chatId, notify=notify, actor=actor_of(request))
    body: dict[str, object] = {"success": True}
    if notification is not None:
        body["notification"] = notification
    return JSON(body)


@router.patch(
    "/chats/{chatId}",
    summary="Update Chat Properties",
    description=(
        "Each field given replaces the chat's: `displayName` (≤ 255; null removes it; `title` is its deprecated "
        "name), `externalBot` (true: BOT, false: PENDING), `crmData` (replaced; ≤ 64 KiB), `crmDeepLink` (an "
        "http(s) URL, null removes it). Answers the updated Chat."
    ),
    **require(Scope.MANAGE_ALL_CHATS, openapi_extra=body_examples(_PATCH_EXAMPLES)),
    **answers(ok("Chat"), NO_CHAT, CRM_TOO_LARGE),
)
async def update_properties(chatId: str, request: Request, services: Svc) -> JSON:  # noqa: N803
    patch = parse_patch(await json_body(request))
    await ChatActions(services).patch(chatId, patch, actor_of(request))
    return JSON(await _chat_object(services, chatId))


@router.post(
    "/chats/{chatId}/crm-data",
    summary="Update CRM Data",
    description=(
        "Merges `data` into the chat's `crmData` (RFC 7396: objects merge at every depth, other values replace, "
        "null removes a key; the result at most 64 KiB, else 413). Answers `{\"success\": true, ...chat}`."
    ),
    **require(Scope.MANAGE_ALL_CHATS, openapi_extra=body_examples({"merge": _CRM_EXAMPLE})),
    **answers(ok("ChatChanged"), NO_CHAT, CRM_TOO_LARGE),
)
async def update_crm_data(chatId: str, request: Request, services: Svc) -> JSON:  # noqa: N803
    data = parse_crm_data(await json_body(request))
    await ChatActions(services).merge_crm_data(chatId, data)
    return JSON({"success": True, **await _chat_object(services, chatId)})
