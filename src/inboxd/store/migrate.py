"""`inboxd migrate`: bring the database to the newest schema (also run by `serve` on start)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from inboxd.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant: serializes concurrent `migrate` runs of several processes on one PostgreSQL.
_PG_LOCK_KEY = 0x1B0D


def alembic_config() -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def migrate(db: Database, revision: str = "head") -> None:
    await db.ensure_schema()
    async with db.write() as conn:
        if db.is_postgres:
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        await conn.run_sync(_upgrade, revision)


def _upgrade(sync_conn: sa.Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_conn
    command.upgrade(config, revision)
