"""Helpers shared by the CLI commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from inboxd import logs
from inboxd.config import Settings
from inboxd.store.db import Database

T = TypeVar("T")


def settings() -> Settings:
    return Settings()


def setup_logging(level: str, fmt: str | None = None) -> None:
    """Text or JSON lines (`INBOXD_LOG_FORMAT`), each with the request id of its request."""
    logs.setup_logging(level, fmt or Settings().log_format)


def with_db(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` against the configured database (migrated first) and close it."""
    from inboxd.store.migrate import migrate

    async def run() -> T:
        cfg = settings()
        db = Database(cfg.resolved_database_url, schema=cfg.database_schema)
        try:
            await migrate(db)
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
