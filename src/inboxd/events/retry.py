"""The retry policy of event deliveries, in one place.

- any 2xx: delivered;
- no answer (connection refused or reset, DNS failure, timeout), 5xx, 408 and 429: tried again
  after an exponential backoff with jitter (~1 s, 2 s, 4 s … up to `INBOXD_EVENTS_RETRY_MAX_SECONDS`),
  or after the receiver's `Retry-After` when that is longer;
- anything else (3xx — redirects are not followed —, other 4xx, a refused address): failed at
  once, not retried;
- an event still undelivered when the next try would fall after `created + horizon`
  (`INBOXD_EVENTS_RETRY_HORIZON_SECONDS`) is failed for good.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from enum import StrEnum

from inboxd.delivery.backoff import retry_delay

RETRYABLE_STATUSES = frozenset({408, 429})


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


def outcome_of(status_code: int | None) -> Outcome:
    """What an answer means; None is no answer at all (a network error or a timeout)."""
    if status_code is None:
        return Outcome.RETRY
    if 200 <= status_code < 300:
        return Outcome.DELIVERED
    if status_code >= 500 or status_code in RETRYABLE_STATUSES:
        return Outcome.RETRY
    return Outcome.FAILED


def retry_after_seconds(value: str | None, now_s: float) -> float | None:
    """`Retry-After` as seconds from now: delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value[:12]))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now_s)


@dataclass(frozen=True)
class Next:
    due_at_ms: int | None  # None: give up
    reason: str | None = None


def next_attempt(
    *, attempt: int, now_ms: int, created_ms: int, horizon_s: float, cap_s: float, retry_after_s: float | None
) -> Next:
    """When to try again after failed attempt number `attempt`, or that it is time to give up."""
    delay = retry_delay(attempt, cap=cap_s)
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    due = now_ms + int(delay * 1000)
    deadline = created_ms + int(horizon_s * 1000)
    if due > deadline:
        return Next(None, f"gave up after {attempt} attempt{'s' if attempt != 1 else ''}: the retry horizon of "
                          f"{horizon_s:g} s ends before the next try")
    return Next(due)
