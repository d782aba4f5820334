"""The Alembic migrations create exactly the schema `store.tables` describes, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from inboxd.store.db import Database
from inboxd.store.migrate import migrate
from inboxd.store.search_index import not_search_index
from inboxd.store.tables import metadata


async def test_migrations_match_tables(db: Database) -> None:
    await migrate(db)  # already at head: a second run is a no-op

    def diff(sync_conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True, "include_object": not_search_index})
        return compare_metadata(context, metadata)

    async with db.read() as conn:
        assert await conn.run_sync(diff) == []


async def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    if db.is_postgres:
        return
    async with db.read() as conn:
        mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
    assert mode == "wal"


def test_the_migration_history_has_one_head() -> None:
    """Two migrations written in parallel need a merge revision; `migrate` upgrades to "head"."""
    from alembic.script import ScriptDirectory

    from inboxd.store.migrate import alembic_config

    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


async def test_a_database_on_one_branch_upgrades_to_head(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A database migrated before the merge (here: only the templates branch) reaches the full schema."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await migrate(db, "0003_templates")
        async with db.read() as conn:
            names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert "templates" in names
        assert "scenarios" not in names
        await migrate(db)

        def diff(sync_conn):  # type: ignore[no-untyped-def]
            return compare_metadata(MigrationContext.configure(sync_conn, opts={"compare_type": True, "include_object": not_search_index}), metadata)

        async with db.read() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await db.dispose()
