"""Changing the labels of chats: the one path every labels change takes — Manage Labels in Chat,
deleting a label, and inboxd's own `failed_message` — so each change is written the same way
(`store.labels.write_chat_labels`) and announced the same way, in its own transaction:
`domain.chat.labels` (chat_id, old_labels, added_labels, removed_labels: the (SUB) Chat Labels
Updated and Specific Label Added triggers) and `inboxd.chat.updated` (fields ["labels"]).

A change that changes nothing (adding a label the chat has, removing one it lacks, setting the
list it has) writes nothing and announces nothing (docs/labels.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.clock import now_ms
from inboxd.domain.errors import Problems
from inboxd.domain.labels import FAILED_MESSAGE, LabelsChange, LabelsOutcome, apply_change
from inboxd.domain.status import MessageStatus
from inboxd.domain_events import CHAT_LABELS, CHAT_UPDATED, LABEL_CHANGED, MESSAGE_STATUS_CHANGED, DomainEvents
from inboxd.store import labels as labels_store

if TYPE_CHECKING:
    from inboxd.services import Services

FAILED_STATUSES = frozenset({int(MessageStatus.FAILED), int(MessageStatus.CHANNEL_FAILED)})


async def _apply(
    conn: AsyncConnection, events: DomainEvents, chat_id: str, old: list[str], mode: str, ids: list[str] | tuple[str, ...],
    now: int,
) -> LabelsOutcome:
    outcome = apply_change(old, mode, ids)
    if outcome.changed:
        await labels_store.write_chat_labels(
            conn, chat_id, new=outcome.new, added=outcome.added, removed=outcome.removed, now=now
        )
        await events.publish(
            conn, CHAT_LABELS, chat_id=chat_id, old_labels=outcome.old, added_labels=outcome.added,
            removed_labels=outcome.removed,
        )
        await events.publish(conn, CHAT_UPDATED, chat_id=chat_id, fields=["labels"])
    return outcome


async def change_chat_labels(
    conn: AsyncConnection, events: DomainEvents, chat_id: str, change: LabelsChange, now: int
) -> LabelsOutcome | None:
    """Manage Labels in Chat. None when there is no such chat; every label id the change names
    must exist (400 naming each unknown one, nothing written)."""
    found = await labels_store.existing_ids(conn, change.ids)  # labels before chats: one lock order
    current = await labels_store.lock_chat_labels(conn, [chat_id])
    if chat_id not in current:
        return None
    problems = Problems()
    for i, label_id in enumerate(change.ids):
        if label_id not in found:
            problems.add(f"body.{change.mode}[{i}]", f"unknown label {label_id!r}")
    problems.raise_if_any("The labels change names unknown labels", code="unknown_label")
    return await _apply(conn, events, chat_id, current[chat_id], change.mode, change.ids, now)


async def delete_label(conn: AsyncConnection, events: DomainEvents, label_id: str, now: int) -> int:
    """Take the label off every chat (each change announced like any other), then delete it.
    The label is locked (by the caller, `store.labels.lock_label`) before its chats are read, so
    a concurrent change adding it has committed or waits. Returns how many chats lost it."""
    chat_ids = await labels_store.chats_with_label(conn, label_id)
    current = await labels_store.lock_chat_labels(conn, chat_ids) if chat_ids else {}
    for chat_id in chat_ids:
        if chat_id in current:
            await _apply(conn, events, chat_id, current[chat_id], "remove", [label_id], now)
    await labels_store.delete_label(conn, label_id)
    await events.publish(conn, LABEL_CHANGED, label_id=label_id, deleted=True)
    return len(chat_ids)


def install(services: Services) -> None:
    """Subscribe the `failed_message` rule. Called from `Services.build` after the event
    subscriptions, so a failure's messageFailed delivery is queued before its chatLabelsUpdated."""
    events = services.events

    async def failed_message(conn: AsyncConnection, *, message: Mapping[str, Any], **_: Any) -> None:
        """A message that failed (status 4 or 5) puts `failed_message` on its chat, in the
        transaction that recorded the failure — whichever path recorded it: the delivery worker
        (refused, channel failed, attempts exhausted), a `failed` status webhook, a parked status
        applied later. Template sends take the same paths."""
        if message.get("status") not in FAILED_STATUSES:
            return
        chat_id = message["chat_id"]
        current = (await labels_store.lock_chat_labels(conn, [chat_id])).get(chat_id)
        if current is None or FAILED_MESSAGE in current:
            return  # there already: no change, no event
        now = now_ms()
        await labels_store.ensure_system_labels(conn, now)
        await _apply(conn, events, chat_id, current, "add", [FAILED_MESSAGE], now)

    events.subscribe(MESSAGE_STATUS_CHANGED, failed_message)
