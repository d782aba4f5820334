"""Send a Message to Chat (reference §3.1).

200 after the channel answered (messages carry `channelInfo.id`) or after
`INBOXD_SEND_WAIT_SECONDS` (then still on their way); 202 right after the commit with
`Prefer: respond-async`; 422/502 with the stored, failed messages when the channel refused
every one of them; a replayed idempotency key answers 200 with `Idempotent-Replay: true`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from inboxd.api.contract import answers, link, ok
from inboxd.api.deps import get_services, require
from inboxd.api.hot import hot
from inboxd.api.request_body import body_examples, json_body, prefers_async
from inboxd.api.request_body import idempotency_key as idempotency_key_header
from inboxd.api.responses import JSON
from inboxd.api.routes.chats import load_chat
from inboxd.api.schemas import CHAT_ID
from inboxd.api.sending import accept_then_wait, sending_errors, sent_response
from inboxd.delivery.session import send_session_message
from inboxd.domain.clock import now_ms
from inboxd.domain.content import parse_send_request
from inboxd.domain.errors import InvalidRequest, chat_not_found, problem
from inboxd.domain.ids import new_id
from inboxd.domain.scopes import Scope
from inboxd.services import Services

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
    return await _send(services, request, chatId, idempotency_key, prefer)


async def _send_fast(request: Request, services: Services, chatId: str) -> JSON:  # noqa: N803
    headers = request.headers
    return await _send(services, request, chatId, headers.get("idempotency-key"), headers.get("prefer"))


async def _send(services: Services, request: Request, chatId: str,  # noqa: N803
                idempotency_key: str | None, prefer: str | None) -> JSON:
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
    return await sent_response(services, chat, accepted, respond_async=respond_async)


hot(send_message, _send_fast)  # api/hot.py: answered without FastAPI's dependency solving
