"""A background loop in every worker process: purges what the retention settings say may go.
Several processes may run it at once; each delete is idempotent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from inboxd.delivery.accept import IDEMPOTENCY_WINDOW_MS
from inboxd.domain.clock import now_ms
from inboxd.domain.sessions import LOCKOUT_WINDOW_MS
from inboxd.live import store as live_store
from inboxd.store import rate_limits, retention
from inboxd.store import sessions as sessions_store
from inboxd.store.db import Database

log = logging.getLogger(__name__)

HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS
UNMATCHED_STATUS_KEEP_MS = 7 * DAY_MS  # a status for a message that is not ours (another app on the number)


async def purge_once(db: Database, *, webhook_retention_days: float, live_retention_hours: float = 24.0) -> dict[str, int]:
    now = now_ms()
    counts = {"webhook_events": 0, "live_events": 0}
    while True:  # in batches, one short transaction each
        async with db.write() as conn:
            n = await retention.purge_webhook_events(conn, processed_before=now - int(webhook_retention_days * DAY_MS))
        counts["webhook_events"] += n
        if n < retention.BATCH:
            break
    while True:
        async with db.write() as conn:
            n = await live_store.purge(conn, created_before=now - int(live_retention_hours * HOUR_MS))
        counts["live_events"] += n
        if n < live_store.PURGE_BATCH:
            break
    async with db.write() as conn:
        counts["idempotency_keys"] = await retention.purge_idempotency_keys(conn, created_before=now - IDEMPOTENCY_WINDOW_MS)
        counts["unmatched_statuses"] = await retention.purge_unmatched_statuses(
            conn, received_before=now - UNMATCHED_STATUS_KEEP_MS
        )
        # A bucket idle that long is full again; a missing one counts as full.
        counts["rate_limit_buckets"] = await rate_limits.purge_idle(conn, updated_before=now - DAY_MS)
        # Sign-in (docs/sign-in.md): sessions a day past their end, failures past the lockout window.
        counts["agent_sessions"] = await sessions_store.purge_sessions(conn, ended_before=now - DAY_MS)
        counts["login_failures"] = await sessions_store.purge_failures(conn, before=now - LOCKOUT_WINDOW_MS)
    return counts


async def run(
    db: Database,
    stop: asyncio.Event,
    *,
    webhook_retention_days: float,
    live_retention_hours: float = 24.0,
    every_seconds: float = 600,
) -> None:
    async def once() -> None:
        counts = await purge_once(
            db, webhook_retention_days=webhook_retention_days, live_retention_hours=live_retention_hours
        )
        if any(counts.values()):
            log.info("housekeeping purged %s", counts)

    await periodically(once, stop, every_seconds=every_seconds, what="housekeeping")


async def periodically(work: Callable[[], Awaitable[None]], stop: asyncio.Event, *, every_seconds: float, what: str) -> None:
    """Run `work` every `every_seconds` until `stop` is set; a failure is logged and retried."""
    while not stop.is_set():
        try:
            await work()
        except Exception:
            log.exception("%s failed; will try again", what)
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        except TimeoutError:
            pass
