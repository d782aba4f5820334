"""The simulator's memory of the WhatsApp users it plays: who they are, when each last wrote
(Meta's 24-hour window), and every Graph payload the business sent them, in order."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from inboxd.simulator.config import WINDOW_SECONDS


@dataclass
class SentMessage:
    """One accepted `POST …/messages`: the payload exactly as received and what became of it."""

    id: str  # the wamid answered
    to: str  # the wa_id it went to
    timestamp: int  # when it was accepted (Unix seconds)
    payload: dict[str, Any]
    statuses: list[str] = field(default_factory=list)  # the status webhooks delivered so far
    accepted_at: float = field(default_factory=time.time)  # the same, to the microsecond (for pacing checks)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "timestamp": self.timestamp,
            "accepted_at": self.accepted_at,
            "status": self.statuses[-1] if self.statuses else "accepted",
            "statuses": list(self.statuses),
            "payload": self.payload,
        }


@dataclass
class Contact:
    wa_id: str
    name: str | None = None
    last_inbound_at: int | None = None  # WhatsApp timestamp of the user's last message
    window_override: bool | None = None  # set through the control API: True open, False closed
    sent: deque[SentMessage] = field(default_factory=deque)
    inbound: list[str] = field(default_factory=list)  # wamids of the messages this user sent
    marked_read: list[str] = field(default_factory=list)  # wamids the business marked as read

    def window_open(self, now: float | None = None) -> bool:
        if self.window_override is not None:
            return self.window_override
        if self.last_inbound_at is None:
            return False
        return (time.time() if now is None else now) - self.last_inbound_at < WINDOW_SECONDS

    def window_expires_at(self) -> int | None:
        if self.window_override is not None or self.last_inbound_at is None:
            return None
        return self.last_inbound_at + WINDOW_SECONDS

    def view(self) -> dict[str, Any]:
        return {
            "wa_id": self.wa_id,
            "name": self.name,
            "last_inbound_at": self.last_inbound_at,
            "window_open": self.window_open(),
            "window_expires_at": self.window_expires_at(),
            "window_override": self.window_override,
            "sent_count": len(self.sent),
            "inbound_count": len(self.inbound),
            "marked_read": list(self.marked_read),
        }


class Contacts:
    """The simulated users, by wa_id, and an index of recent wamids (for replies to them)."""

    MAX_INDEXED = 200_000

    def __init__(self, max_sent_per_contact: int) -> None:
        self.max_sent = max_sent_per_contact
        self.by_id: dict[str, Contact] = {}
        self.sent_index: OrderedDict[str, SentMessage] = OrderedDict()
        self.inbound_index: OrderedDict[str, str] = OrderedDict()  # inbound wamid → wa_id

    def get(self, wa_id: str) -> Contact | None:
        return self.by_id.get(wa_id)

    def ensure(self, wa_id: str) -> Contact:
        contact = self.by_id.get(wa_id)
        if contact is None:
            contact = self.by_id[wa_id] = Contact(wa_id, sent=deque(maxlen=self.max_sent))
        return contact

    def record_sent(self, message: SentMessage) -> None:
        self.ensure(message.to).sent.append(message)
        self.sent_index[message.id] = message
        if len(self.sent_index) > self.MAX_INDEXED:
            self.sent_index.popitem(last=False)

    def record_inbound(self, wa_id: str, wamid: str, timestamp: int, name: str | None) -> Contact:
        contact = self.ensure(wa_id)
        if name:
            contact.name = name
        # The window runs from the user's latest message on WhatsApp's clock.
        contact.last_inbound_at = max(contact.last_inbound_at or 0, timestamp)
        contact.inbound.append(wamid)
        self.inbound_index[wamid] = wa_id
        if len(self.inbound_index) > self.MAX_INDEXED:
            self.inbound_index.popitem(last=False)
        return contact

    def last_sent_with_reply(self, wa_id: str, reply_id: str) -> tuple[SentMessage, dict[str, Any]] | None:
        """The latest interactive message to `wa_id` offering a button or list row `reply_id`,
        and that button or row (so a simulated tap carries its title and context)."""
        contact = self.by_id.get(wa_id)
        for message in reversed(contact.sent if contact else ()):
            action = (message.payload.get("interactive") or {}).get("action") or {}
            for button in action.get("buttons") or []:
                if (button.get("reply") or {}).get("id") == reply_id:
                    return message, button["reply"]
            for section in action.get("sections") or []:
                for row in section.get("rows") or []:
                    if row.get("id") == reply_id:
                        return message, row
        return None

    def clear(self) -> None:
        self.by_id.clear()
        self.sent_index.clear()
        self.inbound_index.clear()
