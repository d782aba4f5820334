"""Send a Message to Chat (reference §3.1).

200 after the channel answered (messages carry `channelInfo.id`) or after
`INBOXD_SEND_WAIT_SECONDS` (then still on their way); 202 right after the commit with
`Prefer: respond-async`; 422/502 with the stored, failed messages when the channel refused
every one of them; a replayed idempotency key answers 200 with `Idempotent-Replay: true`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from inboxd.api.contract import answers, link, ok
from inboxd.api.deps import get_services, require
from inboxd.api.request_body import body_examples, json_body, prefers_async
from inboxd.api.request_body import idempotency_key as idempotency_key_header
from inboxd.api.responses import JSON
from inboxd.api.routes.chats import load_chat
from inboxd.api.schemas import CHAT_ID
from inboxd.api.sending import accept_then_wait, channel_rejected, sending_errors
from inboxd.delivery.session import send_session_message, window_closed
from inboxd.domain import texter
from inboxd.domain.clock import now_ms
from inboxd.domain.content import parse_send_request
from inboxd.domain.errors import ChannelRejected, InvalidRequest, RuleRefused, chat_not_found, problem
from inboxd.domain.ids import new_id
from inboxd.domain.scopes import Scope
from inboxd.domain.status import MessageStatus
from inboxd.services import Services
from inboxd.store import messages as messages_store

router = APIRouter(tags=["messages"])

_EXAMPLES = {
    "text": {"value": {"type": "text", "text": "Hey there!"}},
    "media": {"value": {"type": "media", "media": [{"mediaType": "image", "url": "https://example.com/pic.jpg"}]}},
    "buttons": {
        "value": {
            "type": "buttons",
            "text": "Pick one",
            "buttons": [{"title": "Get my text messages", "payload": "get_session_messages"}],
        }
    },
    "list": {
        "value": {
            "type": "list",
            "text": "Please select an option below.",
            "list": {"button": "Menu", "sections": [{"title": "Options", "rows": [{"title": "Resolve chat", "payload": "resolve"}]}]},
        }
    },
    "contacts": {"value": {"type": "contacts", "contacts": [{"name": {"formatted_name": "Barbara J. Johnson"}}]}},
    "location": {"value": {"type": "location", "location": {"latitude": 32.0853, "longitude": 34.7818, "name": "Office"}}},
    "reply": {"value": {"type": "text", "text": "Yes!", "context": "wamid.HBgM...", "tmpSendId": "crm-42"}},
}


@router.post(
    "/messages/send/{chatId}",
    summary="Send a Message to Chat",
    description=(
        "Send a session message (text, media, buttons, list, contacts, location) into an existing chat, "
        "inside WhatsApp's 24-hour window. Idempotent by `tmpSendId` or the `Idempotency-Key` header. "
        "`Prefer: respond-async` answers 202 right after the message is stored. See docs/send-message.md."
    ),
    **require(Scope.SEND_SESSION_MESSAGE, openapi_extra=body_examples(_EXAMPLES)),
    **answers(
        ok("SentMessages", description="Sent: WhatsApp answered (`channelInfo.id`), or the wait ran out.",
           headers=["Idempotent-Replay"],
           links={"GetMessages": link("Get Messages of a Chat", "The chat's messages", chatId="$request.path.chatId")}),
        ok("SentMessages", 202, description="Stored and on its way (`Prefer: respond-async`).",
           headers=["Preference-Applied"]),
        InvalidRequest("body.context: no message of this chat has this WhatsApp id.", code="context_not_found",
                       details=[problem("body.context", "no message of this chat has this WhatsApp id")]),
        chat_not_found(CHAT_ID),
        *sending_errors("body.media[0].url", "image"),
    ),
)
async def send_message(
    chatId: str,  # noqa: N803
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    prefer: Annotated[str | None, Header()] = None,
) -> JSON:
    send = parse_send_request(await json_body(request))
    key = idempotency_key_header(idempotency_key, send.tmp_send_id)
    chat = await load_chat(services, chatId)
    respond_async = prefers_async(prefer)
    ids = [new_id() for _ in send.message_contents()]
    accepted = await accept_then_wait(
        services,
        ids,
        lambda: send_session_message(services, chat, send, idempotency_key=key, now=now_ms(), message_ids=ids),
        wait=not respond_async,
    )
    if respond_async and accepted.rows is not None:
        rows = accepted.rows  # as committed a moment ago: no second read
    else:
        async with services.db.read() as conn:
            rows = await messages_store.get_messages(conn, accepted.message_ids)
    info = texter.channel_info(chat["channel"], chat["contact_id"], chat["account_phone"])
    shaped = [texter.message(r, info) for r in rows]
    if accepted.replay:
        return JSON({"success": True, "messages": shaped}, headers={"Idempotent-Replay": "true"})
    if respond_async:
        return JSON({"success": True, "messages": shaped}, status_code=202, headers={"Preference-Applied": "respond-async"})
    refused = _refusal(rows, chat)
    if refused is not None:
        refused.extra["messages"] = shaped
        raise refused
    return JSON({"success": True, "messages": shaped})


def _refusal(rows: Sequence[Any], chat: Any) -> RuleRefused | ChannelRejected | None:
    """The error to answer with when the channel refused every message of the request."""
    failed = [r for r in rows if r["status"] in (MessageStatus.FAILED, MessageStatus.CHANNEL_FAILED)]
    if not rows or len(failed) != len(rows):
        return None
    errors = [r["error"] or {} for r in failed]
    if any(e.get("code") == 131047 for e in errors):
        return window_closed(chat["last_incoming_at"])
    return channel_rejected(errors[0])
