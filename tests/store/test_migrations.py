"""The Alembic migrations create exactly the schema `store.tables` describes, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from inboxd.store.db import Database
from inboxd.store.migrate import migrate
from inboxd.store.tables import metadata


async def test_migrations_match_tables(db: Database) -> None:
    await migrate(db)  # already at head: a second run is a no-op

    def diff(sync_conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)

    async with db.read() as conn:
        assert await conn.run_sync(diff) == []


async def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    if db.is_postgres:
        return
    async with db.read() as conn:
        mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
    assert mode == "wal"
