"""A background loop in every worker process: purges what the retention settings say may go.
Several processes may run it at once; each delete is idempotent."""

from __future__ import annotations

import asyncio
import logging

from inboxd.delivery.accept import IDEMPOTENCY_WINDOW_MS
from inboxd.domain.clock import now_ms
from inboxd.store import rate_limits, retention
from inboxd.store.db import Database

log = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000
UNMATCHED_STATUS_KEEP_MS = 7 * DAY_MS  # a status for a message that is not ours (another app on the number)


async def purge_once(db: Database, *, webhook_retention_days: float) -> dict[str, int]:
    now = now_ms()
    counts = {"webhook_events": 0}
    while True:  # in batches, one short transaction each
        async with db.write() as conn:
            n = await retention.purge_webhook_events(conn, processed_before=now - int(webhook_retention_days * DAY_MS))
        counts["webhook_events"] += n
        if n < retention.BATCH:
            break
    async with db.write() as conn:
        counts["idempotency_keys"] = await retention.purge_idempotency_keys(conn, created_before=now - IDEMPOTENCY_WINDOW_MS)
        counts["unmatched_statuses"] = await retention.purge_unmatched_statuses(
            conn, received_before=now - UNMATCHED_STATUS_KEEP_MS
        )
        # A bucket idle that long is full again; a missing one counts as full.
        counts["rate_limit_buckets"] = await rate_limits.purge_idle(conn, updated_before=now - DAY_MS)
    return counts


async def run(db: Database, stop: asyncio.Event, *, webhook_retention_days: float, every_seconds: float = 600) -> None:
    while not stop.is_set():
        try:
            counts = await purge_once(db, webhook_retention_days=webhook_retention_days)
            if any(counts.values()):
                log.info("housekeeping purged %s", counts)
        except Exception:
            log.exception("housekeeping failed; will try again")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        except TimeoutError:
            pass
