"""Message and chat status enums (reference §2) and the forward-only message status machine."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class MessageStatus(IntEnum):
    ACCEPTED = 0  # accepted by inboxd, on its way to the channel
    SENT = 1  # the provider has it (WhatsApp `sent`)
    DELIVERED = 2
    READ = 3
    FAILED = 4  # recipient side: invalid number, window closed, policy
    CHANNEL_FAILED = 5  # our or the provider's side: auth, configuration, retries exhausted
    DELETED = 6


class ChatStatus(IntEnum):
    BOT = 0
    PENDING = 1
    ASSIGNED = 2
    RESOLVED = 3
    BULK = 4


# How far along a status is. CHANNEL_FAILED is inboxd's own conclusion, so any word from the
# provider (sent, delivered, read, failed) supersedes it; FAILED and DELETED are terminal.
_RANK = {
    MessageStatus.ACCEPTED: 0,
    MessageStatus.CHANNEL_FAILED: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.READ: 4,
    MessageStatus.FAILED: 5,
    MessageStatus.DELETED: 6,
}

WHATSAPP_STATUS = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "failed": MessageStatus.FAILED,
}


def advances(current: int, new: int) -> bool:
    """Whether `new` moves a message forward from `current` (statuses never go back)."""
    return _RANK[MessageStatus(new)] > _RANK[MessageStatus(current)]


def apply_status(
    current: int, history: list[dict[str, Any]], new: int, timestamp: int
) -> tuple[int, list[dict[str, Any]], bool]:
    """The message's status and history after a status report; `changed` is False for a repeat.

    Every distinct status is recorded in the history, even a late one that does not lower
    `status` (a `delivered` that arrives after `read`). The history is kept in status order, not
    by timestamp: WhatsApp's timestamps have whole seconds, so `sent` often carries a time
    before inboxd's own millisecond acceptance time.
    """
    if any(entry["status"] == new for entry in history):
        return current, history, False
    entry = {"status": int(new), "timestamp": int(timestamp)}
    new_history = sorted([*history, entry], key=lambda e: (_RANK[MessageStatus(e["status"])], e["timestamp"]))
    return (int(new) if advances(current, new) else current), new_history, True
