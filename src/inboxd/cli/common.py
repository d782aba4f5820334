"""Helpers shared by the CLI commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer

from inboxd import logs
from inboxd.config import Settings
from inboxd.domain.errors import ApiError
from inboxd.store.db import Database

if TYPE_CHECKING:
    from inboxd.services import Services

T = TypeVar("T")


def settings() -> Settings:
    return Settings()


def setup_logging(level: str, fmt: str | None = None) -> None:
    """Text or JSON lines (`INBOXD_LOG_FORMAT`), each with the request id of its request."""
    logs.setup_logging(level, fmt or Settings().log_format)


def migrate_configured(cfg: Settings) -> None:
    """Bring the configured database to the newest schema (no statement timeout: a migration may
    rightly take longer than any request)."""
    from inboxd.store.migrate import migrate

    async def run() -> None:
        db = Database.from_settings(cfg, statement_timeout=False)
        try:
            await migrate(db)
        finally:
            await db.dispose()

    asyncio.run(run())


def with_db(work: Callable[[Database], Awaitable[T]], *, statement_timeout: bool = True) -> T:
    """Run `work` against the configured database (migrated first) and close it."""
    from inboxd.store.migrate import migrate

    async def run() -> T:
        cfg = settings()
        db = Database.from_settings(cfg, statement_timeout=statement_timeout)
        try:
            await migrate(db)
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    """Run `work` with the services a server has (the database migrated first, the domain
    events' listeners installed: a change made here raises the events a change through the API
    would), then close them. An `ApiError` ends the command with its message and details."""
    from inboxd.services import Services
    from inboxd.store.migrate import migrate

    async def run() -> T:
        services = Services.build(settings())
        try:
            await migrate(services.db)
            return await work(services)
        finally:
            await services.aclose()

    try:
        return asyncio.run(run())
    except ApiError as exc:
        lines = [exc.message] + [f"  {d.get('path', '')}: {d.get('reason', '')}" for d in exc.details]
        raise fail("\n".join(lines), 2 if exc.status == 400 else 1) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
