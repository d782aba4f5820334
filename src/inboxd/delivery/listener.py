"""Cross-process wake-ups on PostgreSQL: LISTEN for the NOTIFY that `outbox.enqueue` sends, so
a worker in another process starts sending at once instead of at its next poll."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from inboxd.store.db import Database
from inboxd.store.notify import channel_sql

log = logging.getLogger(__name__)


async def listen(db: Database, channel: str, on_notify: Callable[..., None], stop: asyncio.Event, *,
                 with_payload: bool = False) -> None:
    """Call `on_notify()` for every NOTIFY on `channel` (`on_notify(payload)` `with_payload`)."""
    if not db.is_postgres:
        return

    def callback(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        if with_payload:
            on_notify(payload)
        else:
            on_notify()

    while not stop.is_set():
        try:
            raw = await db.engine.raw_connection()
        except Exception as exc:
            log.warning("cannot LISTEN on %s (%s); workers fall back to polling", channel, exc)
            await _sleep_or_stop(stop, 5.0)
            continue
        try:
            driver = raw.driver_connection
            name = await driver.fetchval(f"SELECT {channel_sql('$1')}", channel)  # this deployment's
            await driver.add_listener(name, callback)
            while not stop.is_set() and not driver.is_closed():
                await _sleep_or_stop(stop, 1.0)
            if not driver.is_closed():
                await driver.remove_listener(name, callback)
        except Exception as exc:
            log.warning("LISTEN on %s failed (%s); reconnecting", channel, exc)
        finally:
            raw.invalidate()  # a listening connection does not go back to the pool


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
