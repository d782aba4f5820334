"""Chats: Search Chats and Get Chat by Chat ID (reference §5.2, §5.3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from inboxd.api.contract import answers, link, ok
from inboxd.api.deps import get_services, require
from inboxd.api.query import limit_param, skip_param
from inboxd.api.responses import JSON
from inboxd.api.schemas import CHAT_ID
from inboxd.domain import texter
from inboxd.domain.errors import Problems, chat_not_found
from inboxd.domain.ids import is_id
from inboxd.domain.scopes import Scope
from inboxd.domain.status import ChatStatus
from inboxd.services import Services
from inboxd.store import chats as chats_store

router = APIRouter(tags=["chats"])

ChannelName = Annotated[
    str | None,
    Query(alias="channel[name]", pattern="^(whatsapp|messenger|instagram|website_chat|email)$"),
]
BoolFlag = Annotated[str | None, Query(pattern="^(1|0|true|false)$")]


@router.get(
    "/chats/search",
    summary="Search Chats",
    **require(Scope.LIST_ALL_CHATS),
    **answers(ok("ChatSearchPage")),
)
async def search_chats(
    services: Annotated[Services, Depends(get_services)],
    search: Annotated[str | None, Query(min_length=2, max_length=200)] = None,
    channel_name: ChannelName = None,
    channel_account_id: Annotated[str | None, Query(alias="channel[accountId]", max_length=64)] = None,
    labels: Annotated[list[str] | None, Query(alias="labels[]", max_length=100)] = None,
    statuses_names: Annotated[
        list[str] | None, Query(alias="statuses[]", max_length=5, description="BOT, PENDING, ASSIGNED, RESOLVED, BULK")
    ] = None,
    include_empty: Annotated[BoolFlag, Query(alias="includeEmpty")] = None,
    limit: limit_param(10000) = 30,
    skip: skip_param() = 0,
) -> JSON:
    problems = Problems()
    if (channel_name is None) != (channel_account_id is None):
        problems.add("query.channel", "channel[name] and channel[accountId] must be given together")
    status_values: list[int] = []
    for i, name in enumerate(statuses_names or []):
        if name not in ChatStatus.__members__:
            problems.add(f"query.statuses[][{i}]", f"unknown chat status {name!r}; use BOT, PENDING, ASSIGNED, "
                         "RESOLVED or BULK")
        else:
            status_values.append(int(ChatStatus[name]))
    if labels and len(set(labels)) > 100:
        problems.add("query.labels[]", "at most 100 unique labels")
    problems.raise_if_any("The search is invalid")
    query = chats_store.ChatSearch(
        search=search,
        channel=channel_name,
        account_id=channel_account_id,
        labels=sorted(set(labels)) if labels else None,
        statuses=status_values or None,
        include_empty=include_empty in ("1", "true"),
        limit=limit,
        skip=skip,
    )
    async with services.db.read() as conn:
        rows, total = await chats_store.search_chats(conn, query)
    data = [texter.chat_full(r, r["channel"], r["account_phone"]) for r in rows]
    return JSON({"data": data, "total": total})


@router.get(
    "/chats/{chatId}",
    summary="Get Chat by Chat ID",
    **require(Scope.SEND_SESSION_MESSAGE),
    **answers(ok("ChatPublic", links={"GetMessages": link("Get Messages of a Chat", chatId="$request.path.chatId")}),
              chat_not_found(CHAT_ID)),
)
async def get_chat(chatId: str, services: Annotated[Services, Depends(get_services)]) -> JSON:  # noqa: N803
    row = await load_chat(services, chatId)
    return JSON(texter.chat_public(row, row["channel"], row["account_phone"]))


async def load_chat(services: Services, chat_id: str) -> Any:
    if not is_id(chat_id):
        raise chat_not_found(chat_id)
    async with services.db.read() as conn:
        row = await chats_store.get_chat(conn, chat_id)
    if row is None:
        raise chat_not_found(chat_id)
    return row
