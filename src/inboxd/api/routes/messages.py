"""Messages: Get Messages of a Chat (reference §3.2). Send a Message lives in `send.py`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from inboxd.api.caller import chat_view
from inboxd.api.contract import answers, ok
from inboxd.api.deps import get_services, require
from inboxd.api.query import MAX_EPOCH_MS, bounded_digits
from inboxd.api.responses import JSON
from inboxd.api.routes.chats import load_chat
from inboxd.api.schemas import CHAT_ID
from inboxd.domain import texter
from inboxd.domain.errors import Problems, chat_not_found
from inboxd.domain.scopes import Scope
from inboxd.live import store as live_store
from inboxd.services import Services
from inboxd.store import messages as messages_store

router = APIRouter(tags=["messages"])

MAX_LIMIT = 1000  # the reference gives no upper bound; ours is documented in docs/api-decisions.md


@router.get(
    "/messages/chat/{chatId}",
    summary="Get Messages of a Chat",
    **require(Scope.VIEW_ALL_CHATS),
    **answers(ok("MessagePage"), chat_not_found(CHAT_ID)),
)
async def chat_messages(
    chatId: str,  # noqa: N803
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    limit: Annotated[str, Query(pattern=r"^[0-9]+$")] = "50",
    beforeTime: Annotated[str | None, Query(pattern=r"^[0-9]+$")] = None,  # noqa: N803
    beforeId: Annotated[str | None, Query(pattern=r"^[a-z0-9]+$")] = None,  # noqa: N803
    botSessionId: Annotated[str | None, Query(pattern=r"^[a-z0-9]+$")] = None,  # noqa: N803
) -> JSON:
    problems = Problems()
    count = bounded_digits(limit, "query.limit", problems, minimum=1, maximum=MAX_LIMIT)
    before_time = bounded_digits(beforeTime, "query.beforeTime", problems, minimum=0, maximum=MAX_EPOCH_MS)
    if botSessionId is None and (beforeTime is None or beforeId is None):
        problems.add("query", "a filter is required: botSessionId, or beforeTime together with beforeId")
    problems.raise_if_any("The query is invalid")
    assert count is not None
    chat = await load_chat(services, chatId, chat_view(request))
    async with services.db.read() as conn:
        last_event_id = await live_store.head(conn)  # read first: the page includes every change up to it
        if botSessionId is not None:
            rows = await messages_store.bot_session_messages(conn, chat["id"], botSessionId, count)
        else:
            assert before_time is not None and beforeId is not None
            rows = await messages_store.page_before(
                conn, chat["id"], before_time=before_time, before_id=beforeId, limit=count
            )
        min_time, max_time = await messages_store.time_range(conn, chat["id"])
    info = texter.channel_info(chat["channel"], chat["contact_id"], chat["account_phone"])
    return JSON(
        {"messages": [texter.message(r, info) for r in rows], "minTime": min_time, "maxTime": max_time,
         "lastEventId": last_event_id}
    )
