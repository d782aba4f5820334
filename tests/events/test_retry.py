"""The retry policy: what is retried, for how long, and how Retry-After counts."""

from __future__ import annotations

import email.utils

import pytest

from inboxd.events.retry import Outcome, next_attempt, outcome_of, retry_after_seconds


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, Outcome.DELIVERED), (201, Outcome.DELIVERED), (204, Outcome.DELIVERED), (299, Outcome.DELIVERED),
     (None, Outcome.RETRY), (408, Outcome.RETRY), (429, Outcome.RETRY), (500, Outcome.RETRY), (502, Outcome.RETRY),
     (503, Outcome.RETRY), (504, Outcome.RETRY), (301, Outcome.FAILED), (307, Outcome.FAILED), (400, Outcome.FAILED),
     (401, Outcome.FAILED), (403, Outcome.FAILED), (404, Outcome.FAILED), (410, Outcome.FAILED), (422, Outcome.FAILED)],
)
def test_outcome_of_an_answer(status: int | None, outcome: Outcome) -> None:
    assert outcome_of(status) is outcome


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = 1_800_000_000.0
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now) == pytest.approx(30, abs=1)
    assert retry_after_seconds(email.utils.formatdate(now - 30, usegmt=True), now) == 0
    for junk in (None, "", "soon", "-5", "1.5"):
        assert retry_after_seconds(junk, now) is None


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    delays = [
        (next_attempt(attempt=a, now_ms=0, created_ms=0, horizon_s=86400, cap_s=600, retry_after_s=None).due_at_ms or 0)
        / 1000
        for a in range(1, 16)
    ]
    assert 0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2 and 2 <= delays[2] <= 4
    assert all(300 <= d <= 600 for d in delays[10:])


def test_retry_after_wins_over_a_shorter_backoff() -> None:
    plan = next_attempt(attempt=1, now_ms=1000, created_ms=0, horizon_s=3600, cap_s=1, retry_after_s=60)
    assert plan.due_at_ms == 61_000


def test_the_horizon_ends_retries() -> None:
    plan = next_attempt(attempt=5, now_ms=86_399_000, created_ms=0, horizon_s=86400, cap_s=600, retry_after_s=None)
    assert plan.due_at_ms is None and "retry horizon of 86400 s" in (plan.reason or "")
    plan = next_attempt(attempt=1, now_ms=0, created_ms=0, horizon_s=86400, cap_s=600, retry_after_s=90_000)
    assert plan.due_at_ms is None  # the receiver asks for a time past the horizon


def test_an_idle_worker_wakes_for_the_earliest_retry_it_scheduled(settings) -> None:  # type: ignore[no-untyped-def]
    """The worker polls every 0.5 s, but a retry it scheduled sooner than that is not made to wait
    for the poll; retries already due are forgotten."""
    import heapq

    from inboxd.domain.clock import now_ms
    from inboxd.events.worker import EventDeliveryWorker

    worker = EventDeliveryWorker(db=None, settings=settings, client=None)  # type: ignore[arg-type]
    assert worker._idle_seconds(0.5) == 0.5
    now = now_ms()
    for due in (now + 5000, now + 150, now - 10):
        heapq.heappush(worker._retries, due)
    assert 0.05 < worker._idle_seconds(0.5) <= 0.15
    assert worker._retries[0] == now + 150  # the one already due is gone
    heapq.heappop(worker._retries)
    assert worker._idle_seconds(0.5) == 0.5
