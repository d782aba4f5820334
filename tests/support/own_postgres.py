"""A PostgreSQL server of the test's own (initdb + pg_ctl on a free port in a temporary
directory), for tests that stop or restart the database: the shared server on 5432 is used by
other test runs and is never touched. As root the server runs as the `postgres` user (PostgreSQL
refuses to run as root), through `runuser`."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import free_port


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


@dataclass
class OwnPostgres:
    bin: Path
    home: Path
    port: int
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, check: bool = True) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        subprocess.run(
            [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.home / "data"), "-l", str(self.home / "log"),
             "-o", options, "-w", "-t", "60", *args],
            check=check, capture_output=True, timeout=90,
        )

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """As after a crash or a failover: every session cut at once, recovery from the WAL."""
        self._ctl("-m", "immediate", "restart")

    def stop(self) -> None:
        self._ctl("-m", "immediate", "stop", check=False)


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    home = Path(tempfile.mkdtemp(prefix="inboxd-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    server = OwnPostgres(bin_dir, home, free_port(), as_user)
    try:
        subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(home / "data"), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8"], check=True, capture_output=True, timeout=120)
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
