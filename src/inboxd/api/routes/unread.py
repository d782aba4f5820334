"""`POST /chats/{chatId}/read` (inboxd addition): an agent has read the chat. docs/labels.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from inboxd.api.contract import answers, ok
from inboxd.api.deps import get_services, require
from inboxd.api.request_body import json_body
from inboxd.api.responses import JSON
from inboxd.api.schemas import CHAT_ID
from inboxd.domain.errors import Problems, chat_not_found
from inboxd.domain.ids import is_id
from inboxd.domain.scopes import Scope
from inboxd.services import Services
from inboxd.unread import mark_chat_read

router = APIRouter(tags=["chats"])


@router.post(
    "/chats/{chatId}/read",
    summary="Mark Chat as Read (inboxd)",
    description="Sets `unreadCount` to 0. When the channel account sends read receipts (`inboxd channels "
    "add-whatsapp --read-receipts`), WhatsApp is told the contact's last message was read, after the commit; "
    "`readReceipt` says how that went (`sent`, `failed`, `off`, `none`) and never fails the request. "
    "Body: none, or `{}`.",
    **require(Scope.VIEW_ALL_CHATS),
    **answers(ok("ChatRead"), chat_not_found(CHAT_ID)),
)
async def read_chat(chatId: str, request: Request, services: Annotated[Services, Depends(get_services)]) -> JSON:  # noqa: N803
    body = await json_body(request, empty={})
    problems = Problems()
    if not isinstance(body, dict):
        problems.add("body", "must be empty or a JSON object")
    else:
        for key in body:
            problems.add(f"body.{key}", "unknown field; this endpoint takes none")
    problems.raise_if_any("The request is not valid")
    if not is_id(chatId):
        raise chat_not_found(chatId)
    receipt = await mark_chat_read(services, chatId)
    return JSON({"success": True, "unreadCount": 0, "readReceipt": str(receipt)})
