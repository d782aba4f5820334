"""`inboxd agents first-admin` (what `make run` calls): an admin on a fresh data directory, its
password printed once; nothing at all once agents exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inboxd.agents.credentials import verify_credentials
from inboxd.store.db import Database
from tests.conftest import DbTarget
from tests.support.cli import cli_env, run_cli


@pytest.fixture
def env(tmp_path: Path, db_target: DbTarget, db: Database) -> dict[str, str]:
    return cli_env(tmp_path / "data", db_target.settings_env())


async def test_first_admin_once_then_only_the_url(env, db: Database) -> None:  # type: ignore[no-untyped-def]
    first = run_cli("agents", "first-admin", "--email", "boss@example.com", "--url", "http://127.0.0.1:9999/", env=env)
    assert "http://127.0.0.1:9999/" in first.stdout and "boss@example.com" in first.stdout
    password = re.search(r"Password: (\S+)", first.stdout).group(1)  # type: ignore[union-attr]
    assert len(password) >= 12
    assert await verify_credentials(db, "boss@example.com", password) is not None
    again = run_cli("agents", "first-admin", "--email", "other@example.com", env=env)
    assert "Password" not in again.stdout and "other@example.com" not in again.stdout
    listed = run_cli("agents", "list", "--json", env=env).stdout
    assert "boss@example.com" in listed and "other@example.com" not in listed and '"admin"' in listed
