"""Quick replies: create, update (all operations in one transaction, or none), delete, and send
into a chat as session messages.

Each change publishes `inboxd.quick_reply.changed` in its transaction (the web inbox's live
stream follows it).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.delivery.accept import Accepted
from inboxd.delivery.session import send_session_contents
from inboxd.domain.clock import now_ms
from inboxd.domain.errors import NotFound, Problems, RuleRefused
from inboxd.domain.ids import is_id, new_id
from inboxd.domain_events import QUICK_REPLY_CHANGED
from inboxd.quick_replies import store
from inboxd.quick_replies.model import Checked, QuickReplyFields, apply_operations, parse_create
from inboxd.services import Services
from inboxd.store import accounts as accounts_store
from inboxd.store import chats as chats_store


def quick_reply_not_found(quick_reply_id: str) -> NotFound:
    return NotFound(f"No quick reply with id {quick_reply_id!r}.", code="quick_reply_not_found")


async def _check_targets(conn: AsyncConnection, checked: Checked) -> None:
    """Every target names a channel account inboxd has, and a target's chat is one of that
    account's (400 naming the target otherwise)."""
    if checked.target_path is None:
        return
    problems = Problems()
    for i, target in enumerate(checked.fields.target):
        path = f"{checked.target_path}[{i}]"
        account = await accounts_store.find_by_account_id(conn, target["name"], target["accountId"])
        if account is None:
            problems.add(f"{path}.accountId", f"is not a {target['name']} channel account of this inboxd")
            continue
        if "id" in target:
            chat = await chats_store.get_chat(conn, target["id"])
            if chat is None or chat["channel_account_id"] != account.id:
                problems.add(f"{path}.id", f"is not a chat of the account {target['accountId']}")
    problems.raise_if_any("The quick reply is not valid")


async def create(services: Services, body: Any) -> dict[str, Any]:
    checked = parse_create(body)
    async with services.db.write() as conn:
        await _check_targets(conn, checked)
        row = await store.insert(conn, new_id(), checked.fields, now_ms())
        await services.events.publish(conn, QUICK_REPLY_CHANGED, quick_reply_id=row["id"], deleted=False)
    return store.shape(row)


async def update(services: Services, quick_reply_id: str, body: Any) -> dict[str, Any]:
    """Every operation applies, or none: a bad one raises inside the transaction (nothing written)."""
    if not is_id(quick_reply_id):
        raise quick_reply_not_found(quick_reply_id)
    async with services.db.write() as conn:
        row = await store.get(conn, quick_reply_id, for_update=True)
        if row is None:
            raise quick_reply_not_found(quick_reply_id)
        checked = apply_operations(store.fields_of(row), body)
        await _check_targets(conn, checked)
        row = await store.update(conn, row, checked.fields, max(now_ms(), row["updated_at"]),
                                 targets_changed=checked.target_path is not None)
        await services.events.publish(conn, QUICK_REPLY_CHANGED, quick_reply_id=quick_reply_id, deleted=False)
    return store.shape(row)


async def delete(services: Services, quick_reply_id: str) -> None:
    if not is_id(quick_reply_id):
        raise quick_reply_not_found(quick_reply_id)
    async with services.db.write() as conn:
        if not await store.delete(conn, quick_reply_id):
            raise quick_reply_not_found(quick_reply_id)
        await services.events.publish(conn, QUICK_REPLY_CHANGED, quick_reply_id=quick_reply_id, deleted=True)


async def load(services: Services, quick_reply_id: str) -> dict[str, Any]:
    if not is_id(quick_reply_id):
        raise quick_reply_not_found(quick_reply_id)
    async with services.db.read() as conn:
        row = await store.get(conn, quick_reply_id)
    if row is None:
        raise quick_reply_not_found(quick_reply_id)
    return row


def _not_for_chat(fields: QuickReplyFields, row: dict[str, Any], chat: Any) -> RuleRefused | None:
    """Refused unless a target names the chat's channel account (and, if it names a chat, this one)."""
    of_account = [t for t in fields.target if t["name"] == chat["channel"] and t["accountId"] == chat["account_phone"]]
    if any(t.get("id") in (None, chat["id"]) for t in of_account):
        return None
    account = f"{chat['channel']} account {chat['account_phone']}"
    why = f"is only for other chats of the {account}" if of_account else f"does not target the {account}"
    return RuleRefused(
        f"Quick reply {row['id']} {why}, the channel account of chat {chat['id']}.",
        code="quick_reply_not_for_chat",
        extra={"channel": chat["channel"], "accountId": chat["account_phone"], "chatId": chat["id"]},
    )


def message_count(row: dict[str, Any]) -> int:
    return sum(len(r.message_contents()) for r in store.fields_of(row).requests())


async def send_to_chat(
    services: Services,
    row: dict[str, Any],
    chat: Any,
    *,
    idempotency_key: str | None,
    tmp_send_id: str | None,
    message_ids: list[str],
) -> Accepted:
    """The contents as session messages, in order, `betweenMessagesDelay` apart, through the
    outbox with Send a Message's rules (window, idempotency, per-chat order). An idempotency key
    replays this quick reply's send into this chat (also after the quick reply was edited)."""
    fields = store.fields_of(row)
    refused = _not_for_chat(fields, row, chat)
    if refused is not None:
        raise refused
    requests = fields.requests()
    return await send_session_contents(
        services,
        chat,
        requests,
        idempotency_key=idempotency_key,
        request_hash=hashlib.sha256(f"quick-reply:{row['id']}".encode()).hexdigest(),
        now=now_ms(),
        tmp_send_id=tmp_send_id,
        gap_ms=fields.between_messages_delay,
        paths=[f"quickReply.send.contents[{i}]" for i in range(len(requests))],
        message_ids=message_ids,
    )
