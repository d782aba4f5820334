"""`inboxd backup PATH`: a consistent copy of the SQLite database, also while inboxd serves."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated

import typer

from inboxd.cli.common import fail, settings
from inboxd.store.backup import NotSqlite, backup_sqlite, sqlite_path


def backup(path: Annotated[Path, typer.Argument(help="Where to write the copy (replaced if it exists).")]) -> None:
    """Copy the embedded SQLite database to PATH with SQLite's online backup API (consistent while
    inboxd runs; checked before it replaces PATH). Restore: README, "Backups"."""
    cfg = settings()
    try:
        source = sqlite_path(cfg.resolved_database_url)
    except NotSqlite as exc:
        raise fail(f"inboxd backup copies the embedded SQLite database; this is a {exc}: use pg_dump", 2) from None
    try:
        result = backup_sqlite(source, path)
    except (OSError, RuntimeError, sqlite3.Error) as exc:
        raise fail(f"backup failed: {exc}") from None
    typer.echo(f"backed up {source} to {result.path} ({result.size} bytes, {result.tables} tables, integrity ok)")
