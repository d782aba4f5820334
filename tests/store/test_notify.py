"""NOTIFY channels are per deployment (store/notify.py): two inboxd deployments in one PostgreSQL
database, in two schemas, wake only their own processes."""

from __future__ import annotations

import asyncio
import secrets

import pytest
import sqlalchemy as sa

from inboxd.delivery.listener import listen
from inboxd.store.db import Database
from inboxd.store.notify import notify
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="INBOXD_TEST_DATABASE_URL is not set")


async def test_a_notify_wakes_the_listeners_of_its_own_schema_only() -> None:
    assert PG_URL
    schemas = [f"inboxd_notify_{secrets.token_hex(4)}" for _ in range(2)]
    dbs = [Database(PG_URL, schema=s) for s in schemas]
    heard: list[list[str]] = [[], []]
    stop = asyncio.Event()
    tasks = []
    try:
        for db in dbs:
            await db.ensure_schema()
        # two listeners of deployment A (two processes), one of deployment B
        for i, db in [(0, dbs[0]), (0, dbs[0]), (1, dbs[1])]:
            tasks.append(asyncio.create_task(listen(db, "inboxd_test", heard[i].append, stop, with_payload=True)))
        await asyncio.sleep(1.0)  # (listening)
        async with dbs[0].write() as conn:
            await notify(conn, "inboxd_test", "from A")
        async with dbs[1].write() as conn:
            await notify(conn, "inboxd_test", "from B")
        for _ in range(100):
            if len(heard[0]) == 2 and len(heard[1]) == 1:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # (anything else on its way arrives)
        assert heard[0] == ["from A", "from A"]
        assert heard[1] == ["from B"]
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        async with dbs[0].write() as conn:
            for s in schemas:
                await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{s}" CASCADE'))
        for db in dbs:
            await db.dispose()
