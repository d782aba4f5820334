"""Late sends take fresh send slots together: one reservation for the sends of an account that
ask while one is being written, spaced at the account's rate as one at a time would be."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.config import Settings
from inboxd.delivery.worker import DeliveryWorker
from inboxd.store import accounts as accounts_store
from inboxd.store.db import Database
from inboxd.store.tables import send_pacing


async def paced(db: Database, settings: Settings, account_id: str) -> tuple[Any, DeliveryWorker]:
    """An account paced at 1,000 messages/s, and a worker (only its pacing is used)."""
    async with db.write() as conn:
        account = await accounts_store.add_whatsapp_account(
            conn, account_id=account_id, phone_number_id=f"pn-{account_id}", access_token="t", app_secret="s",
            verify_token="v", graph_url="http://127.0.0.1:9", mps=1000,
        )
    return account, DeliveryWorker(db, None, None, settings, None, None)  # type: ignore[arg-type]


async def test_late_sends_share_one_reservation_and_keep_the_rate(settings: Settings, db: Database) -> None:
    account, worker = await paced(db, settings, "15550001111")
    transactions = 0

    async def count(_conn: AsyncConnection) -> None:
        nonlocal transactions
        transactions += 1

    remove = db.add_commit_hooks(count, lambda _conn: None)
    try:
        late = time.time_ns() // 1000 - 1_000_000  # every slot a second in the past
        rows = [{"slot_us": late} for _ in range(40)]
        started = time.monotonic()
        before_us = time.time_ns() // 1000
        slots: list[int] = []

        async def send(row: dict[str, int]) -> None:
            await worker._wait_for_slot(account, row)
            slots.append(time.time_ns() // 1000)

        await asyncio.gather(*(send(row) for row in rows))
        elapsed = time.monotonic() - started
    finally:
        remove()
    # The first late send's reservation, then one for the 39 that asked meanwhile.
    assert transactions <= 2
    # 40 sends at 1,000/s: the last slot is 39 ms after the first, none bunched onto the late
    # time; the account's next slot is 40 intervals on (what 40 reservations of one would leave).
    assert elapsed >= 0.039
    async with db.read() as conn:
        next_slot = (await conn.execute(sa.select(send_pacing.c.next_slot_us))).scalar_one()
    assert next_slot - before_us >= 40_000
    assert next_slot - time.time_ns() // 1000 < 1_000  # and not more: the last send went at its slot
    assert not worker._late  # nothing left waiting


async def test_a_failed_reservation_fails_each_waiting_send(settings: Settings, db: Database) -> None:
    account, worker = await paced(db, settings, "15550001112")

    async def refuse(_conn: AsyncConnection) -> None:
        raise RuntimeError("refused")

    remove = db.add_commit_hooks(refuse, lambda _conn: None)
    try:
        late = time.time_ns() // 1000 - 1_000_000
        results = await asyncio.gather(
            *(worker._wait_for_slot(account, {"slot_us": late}) for _ in range(5)), return_exceptions=True
        )
    finally:
        remove()
    assert [type(r) for r in results] == [RuntimeError] * 5
    assert await worker._wait_for_slot(account, {"slot_us": late}) is None  # and the next one works
