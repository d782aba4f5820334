"""Helpers shared by the CLI commands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from inboxd.config import Settings
from inboxd.store.db import Database

T = TypeVar("T")


def settings() -> Settings:
    return Settings()


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


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


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
