"""Quick replies (reference §8), and sending one into a chat (inboxd's addition).
See docs/quick-replies.md."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from inboxd.api.contract import answers, link, ok
from inboxd.api.deps import get_services, require
from inboxd.api.request_body import body_examples, json_body, prefers_async
from inboxd.api.request_body import idempotency_key as idempotency_key_header
from inboxd.api.responses import JSON
from inboxd.api.routes.chats import load_chat
from inboxd.api.schemas import ACCOUNT, CHAT_ID, QUICK_REPLY_ID
from inboxd.api.sending import accept_then_wait, sending_errors, sent_response
from inboxd.domain.content import TYPES
from inboxd.domain.errors import Problems, RuleRefused, chat_not_found
from inboxd.domain.ids import new_id
from inboxd.domain.scopes import Scope
from inboxd.quick_replies import service
from inboxd.quick_replies import store as qr_store
from inboxd.quick_replies.model import POSITIONS
from inboxd.services import Services

router = APIRouter(tags=["quick replies"])

_CREATE = {
    "greeting": {
        "value": {
            "send": {
                "contents": [{"type": "text", "text": "Thanks for reaching out! An agent will reply shortly."}],
                "target": [{"name": "whatsapp", "accountId": "972586640430"}],
            },
            "display": {"position": "top", "title": "Greeting"},
        }
    }
}
_PATCH = {"ai": {"value": [{"updateClientMetadata": {"aiQuickReply": True}}]}}
Direction = Annotated[str | None, Query(pattern="^(asc|desc)$")]

# The documented answers (api/contract.py).
NO_QUICK_REPLY = service.quick_reply_not_found(QUICK_REPLY_ID)
_LINKS = {
    "UpdateQuickReply": link("Update Existing Quick Reply", quickReplyId="$response.body#/_id"),
    "DeleteQuickReply": link("Delete Quick Reply", quickReplyId="$response.body#/_id"),
}


@router.get("/quick-replies", summary="Get Existing Quick Replies", **require(Scope.VIEW_QUICK_REPLIES),
            **answers(ok("QuickReplyList")))
async def list_quick_replies(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    skip: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    sort_title: Annotated[Direction, Query(alias="sortTitle")] = None,
    sort_created: Annotated[Direction, Query(alias="sortCreated")] = None,
    sort_updated: Annotated[Direction, Query(alias="sortUpdated")] = None,
    for_chat_name: Annotated[str | None, Query(alias="forChat[name]", max_length=32)] = None,
    for_chat_account: Annotated[str | None, Query(alias="forChat[accountId]", max_length=64)] = None,
    for_chat_id: Annotated[str | None, Query(alias="forChat[id]", max_length=64)] = None,
    position: Annotated[str | None, Query(pattern=f"^({'|'.join(POSITIONS)})$")] = None,
    has_contents_type: Annotated[list[str] | None, Query(alias="hasContentsType[]", max_length=len(TYPES))] = None,
) -> JSON:
    problems = Problems()
    if (for_chat_name is None) != (for_chat_account is None):
        problems.add("query.forChat", "forChat[name] and forChat[accountId] must be given together")
    if for_chat_id is not None and for_chat_name is None:
        problems.add("query.forChat[id]", "needs forChat[name] and forChat[accountId]")
    for i, kind in enumerate(has_contents_type or []):
        if kind not in TYPES:
            problems.add(f"query.hasContentsType[][{i}]", f"must be one of: {', '.join(TYPES)}")
    problems.raise_if_any("The query is invalid")
    # Sort keys apply in the order the query gives them (default: newest first).
    sort = [(name, value) for name, value in request.query_params.multi_items() if name in qr_store.SORT_COLUMNS]
    for_chat = None
    if for_chat_name is not None and for_chat_account is not None:
        for_chat = qr_store.ForChat(for_chat_name, for_chat_account.lstrip("+"), for_chat_id)
    query = qr_store.QuickReplyQuery(
        skip=skip, limit=limit, sort=sort or [("sortCreated", "desc")], for_chat=for_chat, position=position,
        content_types=sorted(set(has_contents_type)) if has_contents_type else None,
    )
    del sort_title, sort_created, sort_updated  # validated above; read in order from the query string
    async with services.db.read() as conn:
        rows, total = await qr_store.search(conn, query)
    return JSON({"total": total, "quickReplies": [qr_store.shape(r) for r in rows]})


@router.post(
    "/quick-replies",
    summary="Create Quick Reply",
    **require(Scope.MANAGE_QUICK_REPLIES, openapi_extra=body_examples(_CREATE)),
    **answers(ok("QuickReply", links=_LINKS)),
)
async def create_quick_reply(request: Request, services: Annotated[Services, Depends(get_services)]) -> JSON:
    return JSON(await service.create(services, await json_body(request)))


@router.patch(
    "/quick-replies/{quickReplyId}",
    summary="Update Existing Quick Reply",
    description="An array of single-key operations, applied in order, all or nothing.",
    **require(Scope.MANAGE_QUICK_REPLIES, openapi_extra=body_examples(_PATCH)),
    **answers(ok("QuickReply", links={"DeleteQuickReply": _LINKS["DeleteQuickReply"]}), NO_QUICK_REPLY),
)
async def update_quick_reply(
    quickReplyId: str,  # noqa: N803
    request: Request,
    services: Annotated[Services, Depends(get_services)],
) -> JSON:
    return JSON(await service.update(services, quickReplyId, await json_body(request)))


@router.delete("/quick-replies/{quickReplyId}", summary="Delete Quick Reply", **require(Scope.MANAGE_QUICK_REPLIES),
               **answers(ok("Success"), NO_QUICK_REPLY))
async def delete_quick_reply(quickReplyId: str, services: Annotated[Services, Depends(get_services)]) -> JSON:  # noqa: N803
    await service.delete(services, quickReplyId)
    return JSON({"success": True})


@router.post(
    "/quick-replies/{quickReplyId}/send/{chatId}",
    summary="Send Quick Reply to Chat",
    description=(
        "inboxd's addition: sends the quick reply's contents into the chat as session messages, in order, "
        "`betweenMessagesDelay` apart, with Send a Message's rules (24-hour window, idempotency by `tmpSendId` "
        "or `Idempotency-Key`, per-chat order, `Prefer: respond-async`). Body optional: `{\"tmpSendId\"}`."
    ),
    **require(Scope.SEND_SESSION_MESSAGE),
    **answers(
        ok("SentMessages", description="Sent: WhatsApp answered (`channelInfo.id`), or the wait ran out.",
           headers=["Idempotent-Replay"]),
        ok("SentMessages", 202, description="Stored and on its way (`Prefer: respond-async`).",
           headers=["Preference-Applied"]),
        NO_QUICK_REPLY, chat_not_found(CHAT_ID),
        RuleRefused(f"Quick reply {QUICK_REPLY_ID} does not target the whatsapp account {ACCOUNT}, the channel account "
                    f"of chat {CHAT_ID}.", code="quick_reply_not_for_chat",
                    extra={"channel": "whatsapp", "accountId": ACCOUNT, "chatId": CHAT_ID}),
        *sending_errors("quickReply.send.contents[0].media[0].url", "image"),
    ),
)
async def send_quick_reply(
    quickReplyId: str,  # noqa: N803
    chatId: str,  # noqa: N803
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    prefer: Annotated[str | None, Header()] = None,
) -> JSON:
    tmp_send_id = _tmp_send_id(await json_body(request, empty={}))
    key = idempotency_key_header(idempotency_key, tmp_send_id)
    row = await service.load(services, quickReplyId)
    chat = await load_chat(services, chatId)
    respond_async = prefers_async(prefer)
    ids = [new_id() for _ in range(service.message_count(row))]
    accepted = await accept_then_wait(
        services,
        ids,
        lambda: service.send_to_chat(services, row, chat, idempotency_key=key, tmp_send_id=tmp_send_id, message_ids=ids),
        wait=not respond_async,
    )
    return await sent_response(services, chat, accepted, respond_async=respond_async)


def _tmp_send_id(body: Any) -> str | None:
    problems = Problems()
    if not isinstance(body, dict):
        problems.add("body", "must be a JSON object")
    else:
        for key in body:
            if key != "tmpSendId":
                problems.add(f"body.{key}", "is not a known field (known: tmpSendId)")
        value = body.get("tmpSendId")
        if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 256):
            problems.add("body.tmpSendId", "must be a string of 1 to 256 characters")
    problems.raise_if_any("The request is not valid")
    return body.get("tmpSendId") if isinstance(body, dict) else None
