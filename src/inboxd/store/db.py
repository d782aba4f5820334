"""Database access: one `Database` for SQLite (embedded default) and PostgreSQL.

`write()` opens a transaction that takes the write lock at once (SQLite: `BEGIN IMMEDIATE` on a
single connection per process, so writers queue in asyncio instead of spinning on SQLITE_BUSY;
PostgreSQL: an ordinary transaction from the pool). `read()` is a read-only snapshot (SQLite: WAL
readers never block the writer).

SQLite statements run on the event loop's thread (`_InlineSqlite`), not on aiosqlite's one
thread per connection: an indexed statement takes microseconds, while each of the four thread
round trips aiosqlite makes per statement (cursor, execute, fetch, close) costs ~80 µs of wake-ups
and context switches, which capped the single writer at a few hundred transactions a second
(docs/benchmarks.md). Only a wait for a lock held by another process would block; such a
statement fails at once (busy timeout 0) and is retried in a thread with the real busy timeout.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from inboxd.config import Settings

log = logging.getLogger(__name__)


BeforeCommit = Callable[[AsyncConnection], Awaitable[None]]
AfterCommit = Callable[[AsyncConnection], None]


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class DatabaseUnavailable(Exception):
    """The database cannot be reached, or did not answer in time (a restart, a failover, a network
    failure). The API answers 503 `database_unavailable`; workers wait and try again."""


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database is out of reach, rather than that a
    statement was wrong: refused, reset or timed-out connections, the pool waiting in vain, the
    server shutting down or not accepting connections yet, a statement cancelled by its timeout."""
    import asyncpg

    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, DatabaseUnavailable | sa.exc.TimeoutError | OSError | TimeoutError):
            return True
        if isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(
            current,
            asyncpg.PostgresConnectionError
            | asyncpg.InterfaceError
            | asyncpg.exceptions.OperatorInterventionError  # admin/crash shutdown, cannot connect now
            | asyncpg.TooManyConnectionsError,
        ):
            return True
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return False


# Bounds for every PostgreSQL call (INBOXD_DATABASE_*_TIMEOUT; the settings pass theirs).
CONNECT_TIMEOUT = 5.0
STATEMENT_TIMEOUT = 15.0
POOL_TIMEOUT = 10.0


class Database:
    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        pool_size: int = 10,
        connect_timeout: float = CONNECT_TIMEOUT,
        statement_timeout: float | None = STATEMENT_TIMEOUT,
        pool_timeout: float = POOL_TIMEOUT,
    ) -> None:
        self.url = url
        self.schema = schema
        self._urgent_waiting: set[int] = set()  # tickets of urgent transactions waiting for SQLite's writer
        self._urgent_tickets = 0
        self._commit_hooks: list[tuple[BeforeCommit, AfterCommit]] = []
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        common: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            path = parsed.database or ":memory:"
            self._writer = create_async_engine(
                url, pool_size=1, max_overflow=0, async_creator=lambda: _InlineSqlite.connect(path), **common
            )
            self._reader = create_async_engine(
                url, pool_size=4, max_overflow=4, async_creator=lambda: _InlineSqlite.connect(path), **common
            )
            _sqlite_setup(self._writer, begin="BEGIN IMMEDIATE")
            _sqlite_setup(self._reader, begin="BEGIN")
        elif self.dialect == "postgresql":
            # Bounded everywhere: asyncpg's connect timeout (its default is 60 s, and with packets
            # dropped /healthz hung that long), its client-side command timeout (a statement whose
            # answer does not come is abandoned, the connection discarded) and the pool's wait.
            server_settings: dict[str, str] = {}
            connect_args: dict[str, Any] = {"timeout": connect_timeout, "server_settings": server_settings}
            if statement_timeout is not None:
                connect_args["command_timeout"] = statement_timeout
                server_settings["statement_timeout"] = str(int(statement_timeout * 1000))
            if schema:
                server_settings["search_path"] = schema
            self._writer = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_timeout=pool_timeout,
                connect_args=connect_args, **common,
            )
            self._reader = self._writer
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite+aiosqlite or postgresql+asyncpg")

    @classmethod
    def from_settings(cls, settings: Settings, *, statement_timeout: bool = True) -> Database:
        """The configured database. `statement_timeout=False` for migrations, which may rightly
        run longer than any request should (a column added to a large table)."""
        return cls(
            settings.resolved_database_url,
            schema=settings.database_schema,
            connect_timeout=settings.database_connect_timeout,
            statement_timeout=settings.database_statement_timeout if statement_timeout else None,
            pool_timeout=settings.database_pool_timeout,
        )

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def engine(self) -> AsyncEngine:
        return self._writer

    @asynccontextmanager
    async def write(self, *, urgent: bool = False, background: bool = False) -> AsyncIterator[AsyncConnection]:
        """A write transaction. SQLite has one writer connection, and a worker running transaction
        after transaction kept webhook acknowledgements waiting for seconds. So: an `urgent` one (a
        webhook's acknowledgement, one small insert) is counted while it waits for the writer, and
        a `background` one (the inbound processor) lets the urgent ones waiting when it starts go
        first, for up to `BACKGROUND_YIELD_SECONDS`. Every other transaction (sends, other workers) keeps its
        turn: inbound processing never waits behind outgoing messages."""
        if background and self._urgent_waiting:
            # Only those waiting now: a steady stream of webhooks must not hold the processor back.
            ahead = set(self._urgent_waiting)
            deadline = time.monotonic() + BACKGROUND_YIELD_SECONDS
            # Polled, not an asyncio.Event: a Database may serve more than one event loop.
            while not ahead.isdisjoint(self._urgent_waiting) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
        if not urgent or self.is_postgres:
            async with _unavailable_as_such(), self._writer.begin() as conn:
                yield conn
                await self._before_commit(conn)
            self._after_commit(conn)
            return
        self._urgent_tickets += 1
        ticket = self._urgent_tickets
        self._urgent_waiting.add(ticket)
        try:
            async with _unavailable_as_such(), self._writer.begin() as conn:
                self._urgent_waiting.discard(ticket)
                yield conn
                await self._before_commit(conn)
            self._after_commit(conn)
        finally:
            self._urgent_waiting.discard(ticket)

    def add_commit_hooks(self, before: BeforeCommit, after: AfterCommit) -> Callable[[], None]:
        """Run `before(conn)` at the end of every write transaction, on its connection, just
        before it commits (an exception rolls the transaction back), and `after(conn)` once it
        has committed. Returns the function that removes them. The live event log writes the
        transaction's events this way, last, so the lock that numbers them is held only for
        the commit (docs/live.md)."""
        pair = (before, after)
        self._commit_hooks.append(pair)
        return lambda: self._commit_hooks.remove(pair) if pair in self._commit_hooks else None

    async def _before_commit(self, conn: AsyncConnection) -> None:
        for before, _ in self._commit_hooks:
            await before(conn)

    def _after_commit(self, conn: AsyncConnection) -> None:
        for _, after in self._commit_hooks:
            after(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with _unavailable_as_such(), self._reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()

    async def ensure_schema(self) -> None:
        if self.is_postgres and self.schema:
            async with self._writer.begin() as conn:
                await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))


@asynccontextmanager
async def _unavailable_as_such() -> AsyncIterator[None]:
    """Raise `DatabaseUnavailable` for a failure that says the database is out of reach, whether
    it came from connecting, a statement or the commit (everything else passes unchanged)."""
    try:
        yield
    except DatabaseUnavailable:
        raise
    except Exception as exc:
        if is_unavailable(exc):
            raise DatabaseUnavailable(f"{type(exc).__name__}: {exc}"[:300]) from exc
        raise


def _sqlite_setup(engine: AsyncEngine, *, begin: str) -> None:
    """Our own BEGIN statement (pysqlite's implicit transactions are turned off, as SQLAlchemy's
    docs recommend; `_InlineSqlite.connect` sets WAL, foreign keys and the busy handling)."""

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


BUSY_TIMEOUT_MS = 30_000
# How long a background transaction on SQLite lets waiting urgent ones go first, at most.
BACKGROUND_YIELD_SECONDS = 0.5


def _locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class _InlineSqlite:
    """The part of aiosqlite's connection that SQLAlchemy's aiosqlite dialect uses, run inline.

    Statements execute on the calling (event loop) thread. The busy timeout is 0, so a statement
    that would wait for another process's lock fails at once instead of stalling the loop; it is
    then run again in a worker thread with `BUSY_TIMEOUT_MS` (a statement that failed busy made
    no change, so running it again is safe)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._connection = conn  # SQLAlchemy checks this is set before commit/rollback
        self._tx = _RunNow()  # SQLAlchemy's isolation_level setter queues work here

    @classmethod
    async def connect(cls, path: str) -> _InlineSqlite:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=0"):
            await cls._retry_busy(conn.execute, f"PRAGMA {pragma}", conn)
        return cls(conn)

    @staticmethod
    async def _retry_busy(run: Callable[..., Any], sql: str, conn: sqlite3.Connection, *args: Any) -> Any:
        try:
            return run(sql, *args)
        except sqlite3.OperationalError as exc:
            if not _locked(exc):
                raise

        def patient() -> Any:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            try:
                return run(sql, *args)
            finally:
                conn.execute("PRAGMA busy_timeout=0")

        return await asyncio.to_thread(patient)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _InlineCursorContext:
        return _InlineCursorContext(self)

    async def execute(self, sql: str, parameters: Any = ()) -> _InlineCursor:
        cursor = _InlineCursor(self, self._conn.cursor())
        await cursor.execute(sql, parameters)
        return cursor

    async def commit(self) -> None:
        await self._retry_busy(lambda _sql: self._conn.commit(), "COMMIT", self._conn)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


class _RunNow:
    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class _InlineCursorContext:
    def __init__(self, owner: _InlineSqlite) -> None:
        self._owner = owner

    async def __aenter__(self) -> _InlineCursor:
        return _InlineCursor(self._owner, self._owner._conn.cursor())

    async def __aexit__(self, *exc: object) -> None:
        return None


class _InlineCursor:
    __slots__ = ("_owner", "_cursor")

    def __init__(self, owner: _InlineSqlite, cursor: sqlite3.Cursor) -> None:
        self._owner = owner
        self._cursor = cursor

    async def execute(self, sql: str, parameters: Any = ()) -> _InlineCursor:
        await _InlineSqlite._retry_busy(self._cursor.execute, sql, self._owner._conn, parameters)
        return self

    async def executemany(self, sql: str, seq_of_parameters: Any) -> _InlineCursor:
        rows = list(seq_of_parameters)
        await _InlineSqlite._retry_busy(self._cursor.executemany, sql, self._owner._conn, rows)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


def is_unique_violation(exc: BaseException) -> bool:
    """True for a unique-constraint failure on either database."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "unique" in text or "duplicate key" in text
