"""SQLite statements run on the event loop's thread (store/db.py, a benchmark fix): a lock held
by another process must neither fail a write nor stall the loop while the write waits."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from inboxd.store import db as db_module
from inboxd.store.db import Database
from inboxd.store.tables import api_tokens


def _path(db: Database) -> str:
    return db.url.split("///", 1)[1]


async def test_write_waits_off_the_loop_for_another_process_lock(db: Database) -> None:
    if db.is_postgres:
        return
    other = sqlite3.connect(_path(db), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
    release = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    release.start()
    started = time.monotonic()
    try:
        async with db.write() as conn:
            await conn.execute(
                api_tokens.insert().values(id="a" * 24, name="t", token_hash="h" * 64, scopes=[], created_at=1)
            )
    finally:
        stop.set()
        await task
        release.join()
        other.close()
    waited = time.monotonic() - started
    assert waited >= 0.4  # it did wait for the other writer
    assert ticks >= 20  # and the event loop kept running meanwhile
    async with db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(api_tokens))).scalar_one() == 1


async def test_concurrent_writers_and_readers_in_one_process(db: Database) -> None:
    async def write(i: int) -> None:
        async with db.write() as conn:
            await conn.execute(
                api_tokens.insert().values(id=f"{i:024x}", name="t", token_hash=f"{i:064x}", scopes=[], created_at=i)
            )

    async def read() -> int:
        async with db.read() as conn:
            return (await conn.execute(sa.select(sa.func.count()).select_from(api_tokens))).scalar_one()

    results = await asyncio.gather(*[write(i) for i in range(50)], *[read() for _ in range(50)])
    assert all(0 <= r <= 50 for r in results[50:])
    assert await read() == 50


async def test_a_failed_write_rolls_back_and_the_connection_stays_usable(db: Database) -> None:
    try:
        async with db.write() as conn:
            await conn.execute(
                api_tokens.insert().values(id="b" * 24, name="t", token_hash="x" * 64, scopes=[], created_at=1)
            )
            await conn.execute(
                api_tokens.insert().values(id="b" * 24, name="t", token_hash="y" * 64, scopes=[], created_at=1)
            )
    except Exception as exc:
        assert "unique" in str(exc).lower() or "duplicate" in str(exc).lower()
    else:
        raise AssertionError("the duplicate key was accepted")
    async with db.write() as conn:
        await conn.execute(
            api_tokens.insert().values(id="c" * 24, name="t", token_hash="z" * 64, scopes=[], created_at=1)
        )
    async with db.read() as conn:
        ids = set((await conn.execute(sa.select(api_tokens.c.id))).scalars())
    assert ids == {"c" * 24}


async def test_a_background_transaction_lets_waiting_urgent_ones_have_the_writer_first(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has one writer: the inbound processor's `write(background=True)` waits while the
    webhook acknowledgements (`urgent=True`) waiting when it started still wait (they waited
    seconds behind it) — not for later ones, and not for longer than a bound."""
    if db.is_postgres:
        return
    started = asyncio.Event()

    async def background() -> None:
        async with db.write(background=True) as conn:
            started.set()
            await conn.execute(sa.select(1))

    db._urgent_waiting.add(-1)  # a webhook acknowledgement is waiting for the writer
    task = asyncio.create_task(background())
    await asyncio.sleep(0.02)
    assert not started.is_set()
    db._urgent_waiting.discard(-1)  # it got the writer; another arrives, after the processor
    db._urgent_waiting.add(-2)
    try:
        await asyncio.sleep(0.2)  # well inside the 0.5 s it would wait for a stream of them
        assert started.is_set()
        await asyncio.wait_for(task, 5)
    finally:
        db._urgent_waiting.discard(-2)

    monkeypatch.setattr(db_module, "BACKGROUND_YIELD_SECONDS", 0.05)
    db._urgent_waiting.add(-3)  # one that never gets the writer: the processor still gets its turn
    try:
        await asyncio.wait_for(background(), 5)
    finally:
        db._urgent_waiting.discard(-3)


async def test_urgent_transactions_count_as_waiting_only_until_they_have_the_writer(db: Database) -> None:
    if db.is_postgres:
        return
    async with db.write() as conn:
        assert not db._urgent_waiting
        urgent = asyncio.create_task(_write_select(db, urgent=True))
        ordinary = asyncio.create_task(_write_select(db))  # a send: no priority over the processor
        await asyncio.sleep(0.02)
        assert len(db._urgent_waiting) == 1  # the urgent one, queued behind this transaction
        await conn.execute(sa.select(1))
    await asyncio.wait_for(asyncio.gather(urgent, ordinary), 5)
    assert not db._urgent_waiting
    with pytest.raises(RuntimeError):
        async with db.write(urgent=True):
            raise RuntimeError("a failing transaction")
    assert not db._urgent_waiting


async def _write_select(db: Database, *, urgent: bool = False) -> None:
    async with db.write(urgent=urgent) as conn:
        await conn.execute(sa.select(1))
