"""Shared fixtures. Every test that takes `db` (directly or through `server`) runs twice: on
SQLite, and on PostgreSQL when INBOXD_TEST_DATABASE_URL is set (in a schema of its own for this
test run, dropped at the end). The app is served over real HTTP on a loopback port."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from inboxd.config import Settings
from inboxd.domain.scopes import Scope
from inboxd.store import accounts as accounts_store
from inboxd.store import labels as labels_store
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from inboxd.store.migrate import migrate
from inboxd.store.tables import metadata
from tests.support.filestores import S3Server, moto_server
from tests.support.server import LiveServer, start_server

PG_URL = os.environ.get("INBOXD_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]


@dataclass
class DbTarget:
    backend: str
    url: str
    schema: str | None = None

    def settings_env(self) -> dict[str, str]:
        env = {"INBOXD_DATABASE_URL": self.url}
        if self.schema:
            env["INBOXD_DATABASE_SCHEMA"] = self.schema
        return env


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "inboxd.db"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await migrate(db)
        await db.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    schema = f"inboxd_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def setup() -> None:
        db = Database(PG_URL, schema=schema)
        await migrate(db)
        await db.dispose()

    async def teardown() -> None:
        db = Database(PG_URL)
        async with db.write() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await db.dispose()

    asyncio.run(setup())
    try:
        yield schema
    finally:
        asyncio.run(teardown())


@pytest.fixture(params=BACKENDS)
def db_target(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, pg_schema: str | None) -> DbTarget:
    if request.param == "sqlite":
        path = tmp_path / "inboxd.db"
        shutil.copy(sqlite_template, path)
        return DbTarget("sqlite", f"sqlite+aiosqlite:///{path}")
    if not PG_URL:
        pytest.skip("INBOXD_TEST_DATABASE_URL is not set")
    return DbTarget("postgresql", PG_URL, pg_schema)


@pytest.fixture
async def db(db_target: DbTarget) -> AsyncIterator[Database]:
    database = Database(db_target.url, schema=db_target.schema)
    if database.is_postgres:
        async with database.write() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            await conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
            await labels_store.ensure_system_labels(conn, 1)  # as a fresh migration leaves them
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server over loopback, started once for the tests that use the S3 store."""
    with moto_server() as server:
        yield server


FILE_STORES = ["local", "s3"]


@pytest.fixture
def files_backend(request: pytest.FixtureRequest) -> str:
    """The file store a test runs on: local unless a module parametrizes it, e.g. with
    `pytestmark = pytest.mark.parametrize("files_backend", FILE_STORES, indirect=True)`."""
    return getattr(request, "param", "local")


@pytest.fixture
def files_env(request: pytest.FixtureRequest, files_backend: str) -> dict[str, str]:
    """The settings (as environment variables) of the test's file store; {} for the local one."""
    if files_backend == "local":
        return {}
    server: S3Server = request.getfixturevalue("s3_server")
    return server.settings_env(server.new_bucket())


@pytest.fixture
def settings(tmp_path: Path, db_target: DbTarget, files_env: dict[str, str]) -> Settings:
    store = {k.removeprefix("INBOXD_").lower(): v for k, v in files_env.items()}
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_target.url,
        database_schema=db_target.schema,
        simulator=False,
        workers=1,
        send_wait_seconds=5,
        **store,
        # Tests walk every operation from one address and token; the limits have their own tests
        # (tests/api/test_rate_limits.py), with their own numbers.
        rate_limit_per_second=1000,
        rate_limit_burst=5000,
    )


@pytest.fixture
async def server(settings: Settings, db: Database) -> AsyncIterator[LiveServer]:
    async with start_server(settings, db) as live:
        yield live


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture
def make_token(db: Database):  # type: ignore[no-untyped-def]
    async def make(*scopes: Scope, name: str = "test") -> str:
        async with db.write() as conn:
            secret, _ = await tokens_store.create_token(conn, name, list(scopes))
        return secret

    return make


@dataclass
class WhatsAppAccountSpec:
    account: accounts_store.ChannelAccount
    app_secret: str
    verify_token: str


@pytest.fixture
async def wa_account(db: Database) -> WhatsAppAccountSpec:
    """A WhatsApp account whose Graph URL points nowhere (tests that need Graph use the simulator)."""
    async with db.write() as conn:
        account = await accounts_store.add_whatsapp_account(
            conn,
            account_id="15550783881",
            phone_number_id="106540352242922",
            access_token="test-access-token",
            app_secret="test-app-secret",
            verify_token="test-verify-token",
            graph_url="http://127.0.0.1:9",
        )
    return WhatsAppAccountSpec(account, "test-app-secret", "test-verify-token")
