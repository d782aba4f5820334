"""The round-robin safety net every worker process runs: a hand-out skips a waiting chat another
transaction holds at that moment, and a deactivation skips an open chat likewise; this loop
catches both within a few seconds. It only looks (a read) unless something is to be done."""

from __future__ import annotations

import asyncio
import logging

from inboxd.chats import assignment
from inboxd.chats.lifecycle import Lifecycle
from inboxd.domain.clock import now_ms
from inboxd.domain_events import DomainEvents
from inboxd.housekeeping import periodically
from inboxd.store.db import Database

log = logging.getLogger(__name__)


async def sweep_once(db: Database, events: DomainEvents) -> int:
    async with db.read() as conn:
        due = bool(await assignment.anything_waiting(conn)) or bool(
            await assignment.open_chats_of_inactive_agents(conn, limit=1)
        )
    if not due:
        return 0
    async with db.write(background=True) as conn:
        return await Lifecycle(events).sweep(conn, now_ms())


async def run(db: Database, events: DomainEvents, stop: asyncio.Event, *, every_seconds: float = 5.0) -> None:
    async def once() -> None:
        changed = await sweep_once(db, events)
        if changed:
            log.info("round-robin sweep moved %d chats", changed)

    await periodically(once, stop, every_seconds=every_seconds, what="round-robin sweep")
