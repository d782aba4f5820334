"""Graph error codes → what inboxd does about them, in one table (after pywa's errors.py).

Meta advises keying on `code`, not on the HTTP status or the title.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Disposition(Enum):
    RETRY = "retry"  # transient: back off and try again
    THROTTLED = "throttled"  # the number's throughput cap (130429): back off, retry
    PAIR_LIMIT = "pair_limit"  # too many to this recipient (131056): pause this chat only
    WINDOW_CLOSED = "window_closed"  # 131047: only a template may go now
    FAILED = "failed"  # the recipient side refused: message status 4
    CHANNEL_FAILED = "channel_failed"  # auth or configuration: message status 5


_TABLE: dict[int, Disposition] = {
    # transient
    1: Disposition.RETRY,
    2: Disposition.RETRY,
    4: Disposition.THROTTLED,
    80007: Disposition.THROTTLED,
    130429: Disposition.THROTTLED,
    131000: Disposition.RETRY,
    131016: Disposition.RETRY,
    131057: Disposition.RETRY,
    131056: Disposition.PAIR_LIMIT,
    131047: Disposition.WINDOW_CLOSED,
    # our credentials or configuration
    0: Disposition.CHANNEL_FAILED,
    3: Disposition.CHANNEL_FAILED,
    10: Disposition.CHANNEL_FAILED,
    33: Disposition.CHANNEL_FAILED,
    190: Disposition.CHANNEL_FAILED,
    368: Disposition.CHANNEL_FAILED,
    131005: Disposition.CHANNEL_FAILED,
    131031: Disposition.CHANNEL_FAILED,
    131037: Disposition.CHANNEL_FAILED,
    131042: Disposition.CHANNEL_FAILED,
    131045: Disposition.CHANNEL_FAILED,
    133010: Disposition.CHANNEL_FAILED,
}


def disposition(code: int | None, http_status: int | None = None) -> Disposition:
    if code is None and http_status is None:  # no answer: connection error or timeout
        return Disposition.RETRY
    if code is not None and code in _TABLE:
        return _TABLE[code]
    if code is not None and 200 <= code <= 299:  # API permission errors
        return Disposition.CHANNEL_FAILED
    if http_status is not None and (http_status >= 500 or http_status == 429):
        return Disposition.RETRY
    if http_status in (401, 403):
        return Disposition.CHANNEL_FAILED
    return Disposition.FAILED  # 100, 131008, 131009, 131026, 131051, 131053, 132xxx, …


@dataclass
class GraphError(Exception):
    """An error answer from Graph (or no answer at all: `code` None, `http_status` None)."""

    message: str
    code: int | None = None
    http_status: int | None = None
    details: str | None = None
    subcode: int | None = None
    fbtrace_id: str | None = None

    def __str__(self) -> str:
        return f"Graph error {self.code} (HTTP {self.http_status}): {self.message}"

    @property
    def disposition(self) -> Disposition:
        return disposition(self.code, self.http_status)

    def as_message_error(self) -> dict[str, Any]:
        """The `error` object stored on a failed message (same keys as a webhook error)."""
        out: dict[str, Any] = {"code": self.code, "title": self.message, "message": self.message}
        if self.details:
            out["details"] = self.details
        if self.http_status is not None:
            out["httpStatus"] = self.http_status
        return out

    @classmethod
    def from_response(cls, http_status: int, body: Any) -> GraphError:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(f"HTTP {http_status} without a Graph error body", http_status=http_status)
        data = error.get("error_data") or {}
        return cls(
            message=str(error.get("message") or "unknown Graph error"),
            code=error.get("code"),
            http_status=http_status,
            details=data.get("details") if isinstance(data, dict) else None,
            subcode=error.get("error_subcode"),
            fbtrace_id=error.get("fbtrace_id"),
        )
