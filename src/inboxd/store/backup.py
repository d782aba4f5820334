"""Backups of the embedded SQLite database with SQLite's online backup API: a consistent copy
(one read snapshot; in WAL mode the writers of a serving inboxd go on meanwhile), written to a
temporary file beside the target, checked with `PRAGMA integrity_check`, then renamed into
place (a failed backup never leaves a half-written file under the target's name).

Restoring is copying the file back while inboxd is stopped (README, "Backups")."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class NotSqlite(Exception):
    """The configured database is not SQLite (PostgreSQL has its own tools: pg_dump, base backups)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    tables: int


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise NotSqlite(f"{url.get_backend_name()} database")
    return Path(url.database)


def backup_sqlite(source: Path, target: Path) -> BackupResult:
    if not source.is_file():
        raise FileNotFoundError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)  # only read (a read-only open cannot join the WAL index)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # every page in one step: one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise RuntimeError(f"the copy failed its integrity check: {check}")
            tables = dst.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        finally:
            dst.close()
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    return BackupResult(target, target.stat().st_size, tables)
