"""Send a Message to Chat (a session message): the rules before a message is accepted.

The chat must exist, the contact must have written within the last 24 hours (WhatsApp's clock),
a `context` must name a message of this chat, and media must be fetchable and allowed. Then the
message is accepted into the outbox (`accept.accept_outgoing`).

Sent by an agent (`agent_uid`; a browser session's agent — API tokens have none), the message
records them as its `agent`, and takes a chat that is PENDING for them (ASSIGNED), in the
transaction that accepts it (`domain.lifecycle.agent_replied`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.chats.lifecycle import Lifecycle
from inboxd.delivery.accept import Accepted, Idempotency, OnAccept, OutgoingItem, accept_outgoing, find_replay
from inboxd.domain import lifecycle
from inboxd.domain.content import SendRequest
from inboxd.domain.errors import InvalidRequest, RuleRefused, problem
from inboxd.domain.window import session_window_open
from inboxd.media.ingest import MediaFile, ingest_url, load_file
from inboxd.services import Services
from inboxd.store import agents as agents_store
from inboxd.store import chats as chats_store
from inboxd.store.tables import messages

TEMPLATE_HINT = (
    "Outside WhatsApp's 24-hour customer-service window only a template message can be sent: "
    "use Send Template Message (POST /server/api/v2/whatsapp/templates/send)."
)


def window_closed(last_incoming: int | None) -> RuleRefused:
    return RuleRefused(
        "The contact has not written in the last 24 hours, so WhatsApp does not allow a session message.",
        code="session_window_closed",
        extra={"lastIncomingMessageTimestamp": last_incoming, "hint": TEMPLATE_HINT},
    )


async def send_session_message(
    services: Services,
    chat: Any,
    request: SendRequest,
    *,
    idempotency_key: str | None,
    now: int,
    message_ids: list[str] | None = None,
    request_hash: str | None = None,
    on_accept: OnAccept | None = None,
    agent_uid: str | None = None,
) -> Accepted:
    """`request_hash` binds the idempotency key to a wider request than this message (a
    template send that went out as a session message); `on_accept` as in `accept_outgoing`;
    `agent_uid` the calling agent, if any."""
    return await send_session_contents(
        services, chat, [request], idempotency_key=idempotency_key,
        # (only a key is compared with the hash: no key, no hashing)
        request_hash=request_hash or (request.request_hash() if idempotency_key else ""),
        now=now, tmp_send_id=request.tmp_send_id, context=request.context, message_ids=message_ids, on_accept=on_accept,
        agent_uid=agent_uid,
    )


async def send_session_contents(
    services: Services,
    chat: Any,
    requests: list[SendRequest],
    *,
    idempotency_key: str | None,
    request_hash: str,
    now: int,
    tmp_send_id: str | None = None,
    context: str | None = None,
    gap_ms: int | None = None,
    paths: list[str] | None = None,
    message_ids: list[str] | None = None,
    on_accept: OnAccept | None = None,
    agent_uid: str | None = None,
) -> Accepted:
    """Several Send a Message bodies as one send (a quick reply's contents): one idempotency
    key, one window check, every message accepted in one transaction in order, each
    `gap_ms` after the previous one (`OutgoingItem.next_gap_ms`). `paths` name where each
    request came from, for the errors of its media (default `body`); `agent_uid` the calling
    agent, if any (an agent's message takes a chat pending for them)."""
    idem = Idempotency(idempotency_key, request_hash) if idempotency_key else None
    replay = await find_replay(services.db, chat["id"], idem, now)
    if replay is not None:
        return replay
    if not session_window_open(chat["last_incoming_at"], now):
        raise window_closed(chat["last_incoming_at"])
    if context is not None:
        await _check_context(services, chat, context)
    items: list[OutgoingItem] = []
    for request, base in zip(requests, paths or ["body"] * len(requests), strict=True):
        contents = request.message_contents()
        if request.type == "media":
            contents = [{"media": [await _resolve_media(services, f"{base}.media[{i}]", c["media"][0])]}
                        for i, c in enumerate(contents)]
        items += [OutgoingItem(request.type, content) for content in contents]
    if gap_ms:
        items = [replace(item, next_gap_ms=gap_ms) for item in items[:-1]] + items[-1:]
    if agent_uid is not None:
        on_accept = _agent_takes(services, agent_uid, now, on_accept)
    return await accept_outgoing(
        services.db,
        chat["id"],
        chat["channel_account_id"],
        items,
        now=now,
        idempotency=idem,
        tmp_send_id=tmp_send_id,
        context=context,
        events=services.events,
        message_ids=message_ids[: len(items)] if message_ids else None,
        on_accept=on_accept,
        agent=agent_uid,
    )


def _agent_takes(services: Services, agent_uid: str, now: int, then: OnAccept | None) -> OnAccept:
    async def take(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        chat = await chats_store.lock_chat(conn, rows[0]["chat_id"])
        if chat is not None:
            target = lifecycle.agent_replied(lifecycle.ChatState.of(chat), agent_uid)
            agent = await agents_store.get_agent(conn, agent_uid)
            actor = lifecycle.Actor("agent", agent_uid, agent["display_name"] if agent is not None else None)
            await Lifecycle(services.events).apply(conn, chat, target, actor, now)
        if then is not None:
            await then(conn, rows)

    return take


async def _check_context(services: Services, chat: Any, context: str) -> None:
    async with services.db.read() as conn:
        found = (
            await conn.execute(
                sa.select(messages.c.id).where(
                    messages.c.channel_account_id == chat["channel_account_id"],
                    messages.c.external_id == context,
                    messages.c.chat_id == chat["id"],
                )
            )
        ).first()
    if found is None:
        reason = "must be the WhatsApp id (channelInfo.id) of a message in this chat"
        raise InvalidRequest(f"body.context: {reason}.", code="context_not_found", details=[problem("body.context", reason)])


async def _resolve_media(services: Services, path: str, item: dict[str, Any]) -> dict[str, Any]:
    """Download (url) or look up (fileId) one media item (at `path`, for errors); the stored
    item carries the fileId."""
    media_type = item["mediaType"]
    media: MediaFile
    if "url" in item:
        media = await ingest_url(
            item["url"],
            media_type,
            db=services.db,
            files=services.files,
            settings=services.settings,
            path=f"{path}.url",
            filename=item.get("filename"),
        )
    else:
        media = await load_file(item["fileId"], media_type, db=services.db, path=f"{path}.fileId")
    stored = {"mediaType": media_type, "fileId": media.file_id, "contentType": media.content_type}
    filename = item.get("filename") or media.filename
    if filename:
        stored["filename"] = filename
    for key in ("caption", "url"):
        if key in item:
            stored[key] = item[key]
    return stored
