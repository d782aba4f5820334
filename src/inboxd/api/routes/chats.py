"""Chats: Search Chats and Get Chat by Chat ID (reference §5.2, §5.3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from inboxd.agents.visibility import ChatView
from inboxd.api.caller import chat_view
from inboxd.api.contract import answers, link, ok
from inboxd.api.deps import get_services, require
from inboxd.api.query import MAX_SKIP, int_param, text_param
from inboxd.api.responses import JSON
from inboxd.api.schemas import CHAT_ID
from inboxd.domain import texter
from inboxd.domain.errors import Problems, chat_not_found
from inboxd.domain.ids import is_id
from inboxd.domain.labels import label_id_problem
from inboxd.domain.scopes import Scope
from inboxd.domain.status import ChatStatus
from inboxd.live import store as live_store
from inboxd.services import Services
from inboxd.store import chats as chats_store

router = APIRouter(tags=["chats"])

CHANNELS = ("whatsapp", "messenger", "instagram", "website_chat", "email")
FLAGS = ("1", "true", "0", "false")
MAX_SEARCH_LABELS = 100  # unique label ids (reference §5.2)


@router.get(
    "/chats/search",
    summary="Search Chats",
    description="Newest last message first. `labels[]` (any of, ≤ 100 unique), `statuses[]` (names, ≤ 5), and the "
    "inboxd additions `agentUid` and `departmentId` (exact). Every problem of the query is reported together. "
    "docs/api-decisions.md (Chats).",
    **require(Scope.LIST_ALL_CHATS),
    **answers(ok("ChatSearchPage")),
)
async def search_chats(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    search: Annotated[str | None, Query(description="phone or name, at least 2 characters")] = None,
    channel_name: Annotated[str | None, Query(alias="channel[name]", description=", ".join(CHANNELS))] = None,
    channel_account_id: Annotated[str | None, Query(alias="channel[accountId]")] = None,
    labels: Annotated[list[str] | None, Query(alias="labels[]", description="label ids, any of them")] = None,
    statuses_names: Annotated[
        list[str] | None, Query(alias="statuses[]", description="BOT, PENDING, ASSIGNED, RESOLVED, BULK")
    ] = None,
    agent_uid: Annotated[str | None, Query(alias="agentUid", description="inboxd: the assigned agent's uid")] = None,
    department_id: Annotated[str | None, Query(alias="departmentId", description="inboxd: the department")] = None,
    include_empty: Annotated[str | None, Query(alias="includeEmpty", description="1, true, 0, false")] = None,
    with_last_message: Annotated[
        str | None, Query(alias="withLastMessage", description="inboxd: 1/true adds each chat's `lastMessage` preview")
    ] = None,
    limit: Annotated[str | None, Query(description="1–10000, default 30")] = None,
    skip: Annotated[str | None, Query(description="0 or more, default 0")] = None,
) -> JSON:
    problems = Problems()
    if search is not None and not 2 <= len(search) <= 200:
        problems.add("query.search", "must be 2 to 200 characters long")
    if channel_name is not None and channel_name not in CHANNELS:
        problems.add("query.channel[name]", f"must be one of {', '.join(CHANNELS)}")
    text_param(problems, "channel[accountId]", channel_account_id, max_length=64)
    if (channel_name is None) != (channel_account_id is None):
        problems.add("query.channel", "channel[name] and channel[accountId] must be given together")
    unique_labels = list(dict.fromkeys(labels or []))
    for i, label_id in enumerate(labels or []):
        if (why := label_id_problem(label_id)) is not None:
            problems.add(f"query.labels[][{i}]", why)
    if len(unique_labels) > MAX_SEARCH_LABELS:
        problems.add("query.labels[]", f"at most {MAX_SEARCH_LABELS} unique labels (got {len(unique_labels)})")
    status_values: list[int] = []
    for i, name in enumerate(statuses_names or []):
        if name not in ChatStatus.__members__:
            problems.add(f"query.statuses[][{i}]", f"unknown chat status {name!r}; use BOT, PENDING, ASSIGNED, "
                         "RESOLVED or BULK")
        else:
            status_values.append(int(ChatStatus[name]))
    if len(statuses_names or []) > len(ChatStatus):
        problems.add("query.statuses[]", f"at most {len(ChatStatus)} statuses")
    agent = text_param(problems, "agentUid", agent_uid, max_length=128)
    department = text_param(problems, "departmentId", department_id, max_length=100)
    if include_empty is not None and include_empty not in FLAGS:
        problems.add("query.includeEmpty", "must be 1, true, 0 or false")
    if with_last_message is not None and with_last_message not in FLAGS:
        problems.add("query.withLastMessage", "must be 1, true, 0 or false")
    count = int_param(problems, "limit", limit, low=1, high=10_000, default=30)
    offset = int_param(problems, "skip", skip, low=0, high=MAX_SKIP, default=0)
    problems.raise_if_any("The search is invalid")
    query = chats_store.ChatSearch(
        search=search,
        channel=channel_name,
        account_id=channel_account_id,
        labels=sorted(unique_labels) or None,
        statuses=sorted(set(status_values)) or None,
        agent_uid=agent,
        department_id=department,
        include_empty=include_empty in ("1", "true"),
        limit=count,
        skip=offset,
        view=chat_view(request),
    )
    async with services.db.read() as conn:
        last_event_id = await live_store.head(conn)  # read first: the page includes every change up to it
        rows, total = await chats_store.search_chats(conn, query)
    render = texter.chat_object if with_last_message in ("1", "true") else texter.chat_full
    data = [render(r, r["channel"], r["account_phone"]) for r in rows]
    return JSON({"data": data, "total": total, "lastEventId": last_event_id})


@router.get(
    "/chats/{chatId}",
    summary="Get Chat by Chat ID",
    **require(Scope.SEND_SESSION_MESSAGE),
    **answers(ok("ChatPublic", links={"GetMessages": link("Get Messages of a Chat", chatId="$request.path.chatId")}),
              chat_not_found(CHAT_ID)),
)
async def get_chat(chatId: str, request: Request, services: Annotated[Services, Depends(get_services)]) -> JSON:  # noqa: N803
    row = await load_chat(services, chatId, chat_view(request))
    return JSON(texter.chat_public(row, row["channel"], row["account_phone"]))


async def load_chat(services: Services, chat_id: str, view: ChatView | None = None) -> Any:
    """The chat, or 404 — also for a chat outside the caller's `view` (an agent's: its existence
    is not theirs to know)."""
    if not is_id(chat_id):
        raise chat_not_found(chat_id)
    row = await chats_store.read_chat(services.db, chat_id)  # coalesced with concurrent loads
    if row is None or (view is not None and not view.sees(row["department_id"], row["agent_uid"])):
        raise chat_not_found(chat_id)
    return row
