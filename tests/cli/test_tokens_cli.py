"""`inboxd tokens create | list | revoke` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inboxd.domain.scopes import ALL_SCOPES
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from tests.conftest import DbTarget
from tests.support.cli import cli_env, run_cli


@pytest.fixture
def env(tmp_path: Path, db_target: DbTarget, db: Database) -> dict[str, str]:
    return cli_env(tmp_path / "data", db_target.settings_env())


async def test_create_prints_only_the_token_and_stores_its_hash(env, db: Database) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("tokens", "create", "--name", "crm", "--scope", "Send session message",
                     "--scope", "view-all-chats", env=env)
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("inboxd_") and len(lines[0]) >= 43
    secret = lines[0]
    async with db.read() as conn:
        record = await tokens_store.find_token(conn, secret)
        [only] = await tokens_store.list_tokens(conn)
    assert record is not None and record.scopes == {"Send session message", "View all chats"}
    assert only.id == record.id  # found by hash; the secret itself is nowhere in the table


async def test_all_scopes_list_and_revoke(env, db: Database) -> None:  # type: ignore[no-untyped-def]
    secret = run_cli("tokens", "create", "--name", "ops", "--all-scopes", env=env).stdout.strip()
    listed = json.loads(run_cli("tokens", "list", "--json", env=env).stdout)
    assert [t["name"] for t in listed] == ["ops"]
    assert sorted(listed[0]["scopes"]) == sorted(s.value for s in ALL_SCOPES)
    assert set(listed[0]) == {"id", "name", "scopes", "created", "lastUsed", "revoked", "rateLimit"}
    assert listed[0]["rateLimit"] is None  # the configured default
    table = run_cli("tokens", "list", env=env).stdout
    assert secret not in table and secret not in json.dumps(listed) and "ops" in table
    run_cli("tokens", "revoke", listed[0]["id"], env=env)
    assert json.loads(run_cli("tokens", "list", "--json", env=env).stdout)[0]["revoked"] is not None
    again = run_cli("tokens", "revoke", listed[0]["id"], env=env, check=False)
    assert again.returncode == 1 and "no live token" in again.stderr


async def test_create_with_its_own_rate_limit(env, db: Database) -> None:  # type: ignore[no-untyped-def]
    secret = run_cli("tokens", "create", "--name", "bulk", "--all-scopes", "--rate", "5", "--burst", "12", env=env).stdout.strip()
    run_cli("tokens", "create", "--name", "rate-only", "--all-scopes", "--rate", "2.5", env=env)
    async with db.read() as conn:
        record = await tokens_store.find_token(conn, secret)
    assert record is not None and (record.rate_per_second, record.rate_burst) == (5.0, 12)
    listed = {t["name"]: t for t in json.loads(run_cli("tokens", "list", "--json", env=env).stdout)}
    assert listed["bulk"]["rateLimit"] == {"perSecond": 5.0, "burst": 12}
    assert listed["rate-only"]["rateLimit"] == {"perSecond": 2.5, "burst": 5}  # burst: twice the rate
    assert "5/s,12" in run_cli("tokens", "list", env=env).stdout
    refused = run_cli("tokens", "create", "--name", "x", "--all-scopes", "--rate", "0", env=env, check=False)
    assert refused.returncode == 2


@pytest.mark.parametrize(
    "args",
    [["--name", "x", "--scope", "Send everything"], ["--name", "x"], ["--name", "x", "--all-scopes", "--scope", "Manage labels"]],
)
async def test_bad_scopes_are_refused(env, args) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("tokens", "create", *args, env=env, check=False)
    assert result.returncode == 2 and result.stdout == "" and "error:" in result.stderr
