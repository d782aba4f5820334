"""Graceful shutdown: on SIGTERM a process stops taking work, finishes what it holds while
`INBOXD_SHUTDOWN_SECONDS` allows, then gives back what is left (outbox rows, webhook events,
event deliveries: their leases cleared, due at once) so another process takes it over at once
instead of after the lease runs out, and exits within the limit.

The budget: `FINISH_SHARE` of it to finish (HTTP requests and worker loops at the same time),
the rest to give work back, close connections and exit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable

log = logging.getLogger(__name__)

FINISH_SHARE = 0.75
GIVE_BACK_SECONDS = 5.0  # without a Shutdown (tests stopping loops): the bound for giving work back


class Shutdown(asyncio.Event):
    """The stop signal of the worker loops, carrying the time they have to finish their work.
    A plain `asyncio.Event` works as well: then in-flight work is waited for without a limit."""

    def __init__(self) -> None:
        super().__init__()
        self.finish_by: float | None = None
        self.exit_by: float | None = None

    def begin(self, seconds: float) -> None:
        if self.finish_by is None:
            now = time.monotonic()
            self.finish_by = now + seconds * FINISH_SHARE
            self.exit_by = now + seconds
        self.set()

    def clear(self) -> None:
        self.finish_by = self.exit_by = None
        super().clear()


def finish_seconds(stop: asyncio.Event) -> float | None:
    """How long in-flight work may still run (None: no limit)."""
    if isinstance(stop, Shutdown) and stop.finish_by is not None:
        return max(0.0, stop.finish_by - time.monotonic())
    return None


def give_back_seconds(stop: asyncio.Event) -> float:
    if isinstance(stop, Shutdown) and stop.exit_by is not None:
        return max(0.5, stop.exit_by - time.monotonic() - 0.5)
    return GIVE_BACK_SECONDS


async def finish_or_cancel(tasks: Iterable[asyncio.Task[None]], stop: asyncio.Event) -> None:
    """Let `tasks` finish while the shutdown allows, then cancel the rest; a cancelled task gives
    back what it holds (see `give_back`)."""
    pending = {t for t in tasks if not t.done()}
    if not pending:
        return
    await asyncio.wait(pending, timeout=finish_seconds(stop))
    left = [t for t in pending if not t.done()]
    if left:
        log.info("shutting down: giving back %d unfinished work items", len(left))
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)


async def give_back(work: Awaitable[object], what: str, seconds: float = GIVE_BACK_SECONDS) -> None:
    """Run `work` (a release of leases), bounded: with the database gone the leases simply run out."""
    try:
        async with asyncio.timeout(seconds):
            await work
    except Exception as exc:
        log.warning("could not give back %s (%s); its lease will run out instead", what, exc)
