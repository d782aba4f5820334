"""WhatsApp's 24-hour customer-service window, measured on WhatsApp's clock: from the
`timestamp` of the contact's last inbound message, not from when its webhook arrived."""

from __future__ import annotations

SESSION_WINDOW_MS = 24 * 60 * 60 * 1000


def session_window_open(last_incoming_ms: int | None, now_ms: int) -> bool:
    return last_incoming_ms is not None and now_ms - last_incoming_ms < SESSION_WINDOW_MS
