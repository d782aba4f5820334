"""Database access: one `Database` for SQLite (embedded default) and PostgreSQL.

`write()` opens a transaction that takes the write lock at once (SQLite: `BEGIN IMMEDIATE` on a
single connection per process, so writers queue in asyncio instead of spinning on SQLITE_BUSY;
PostgreSQL: an ordinary transaction from the pool). `read()` is a read-only snapshot (SQLite: WAL
readers never block the writer).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger(__name__)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class Database:
    def __init__(self, url: str, *, schema: str | None = None, pool_size: int = 10) -> None:
        self.url = url
        self.schema = schema
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        common: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self._writer = create_async_engine(url, pool_size=1, max_overflow=0, **common)
            self._reader = create_async_engine(url, pool_size=4, max_overflow=4, **common)
            _sqlite_setup(self._writer, begin="BEGIN IMMEDIATE")
            _sqlite_setup(self._reader, begin="BEGIN")
        elif self.dialect == "postgresql":
            connect_args: dict[str, Any] = {}
            if schema:
                connect_args["server_settings"] = {"search_path": schema}
            self._writer = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, connect_args=connect_args, **common
            )
            self._reader = self._writer
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite+aiosqlite or postgresql+asyncpg")

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def engine(self) -> AsyncEngine:
        return self._writer

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self._writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()

    async def ensure_schema(self) -> None:
        if self.is_postgres and self.schema:
            async with self._writer.begin() as conn:
                await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))


def _sqlite_setup(engine: AsyncEngine, *, begin: str) -> None:
    """WAL, foreign keys, a busy timeout for other processes, and our own BEGIN statement
    (pysqlite's implicit transactions are turned off, as SQLAlchemy's docs recommend)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


def is_unique_violation(exc: BaseException) -> bool:
    """True for a unique-constraint failure on either database."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "unique" in text or "duplicate key" in text
