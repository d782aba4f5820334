"""`inboxd channels add-whatsapp | list`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inboxd.store import accounts as accounts_store
from inboxd.store.db import Database
from tests.conftest import DbTarget
from tests.support.cli import cli_env, run_cli

ADD = ["channels", "add-whatsapp", "--account-id", "972509876543", "--phone-number-id", "106540352242922",
       "--access-token", "EAAG-secret-token", "--app-secret", "app-secret-value", "--verify-token", "verify-me"]


@pytest.fixture
def env(tmp_path: Path, db_target: DbTarget, db: Database) -> dict[str, str]:
    return cli_env(tmp_path / "data", db_target.settings_env())


async def test_add_and_list_without_secrets(env, db: Database) -> None:  # type: ignore[no-untyped-def]
    out = run_cli(*ADD, "--graph-url", "http://127.0.0.1:9999", "--mps", "200", "--waba-id", "w1", env=env).stdout
    listed = json.loads(run_cli("channels", "list", "--json", env=env).stdout)
    assert [(a["accountId"], a["phoneNumberId"], a["graphUrl"], a["apiVersion"], a["mps"], a["wabaId"]) for a in listed] == [
        ("972509876543", "106540352242922", "http://127.0.0.1:9999", "v23.0", 200, "w1")
    ]
    table = run_cli("channels", "list", env=env).stdout
    for secret in ("EAAG-secret-token", "app-secret-value", "verify-me"):
        assert secret not in out and secret not in table and secret not in json.dumps(listed)
    async with db.read() as conn:
        account = await accounts_store.find_by_phone_number_id(conn, "106540352242922")
    assert account is not None and account.app_secret == "app-secret-value"
    assert account.graph_url == "http://127.0.0.1:9999" and "secret" not in repr(account)


async def test_defaults_and_duplicates(env) -> None:  # type: ignore[no-untyped-def]
    run_cli(*ADD, env=env)
    [account] = json.loads(run_cli("channels", "list", "--json", env=env).stdout)
    assert account["graphUrl"] == "https://graph.facebook.com" and account["mps"] == 80
    dup = run_cli(*ADD, env=env, check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr


async def test_read_receipts_are_off_unless_asked_for(env, db: Database) -> None:  # type: ignore[no-untyped-def]
    run_cli(*ADD, env=env)
    run_cli("channels", "add-whatsapp", "--account-id", "972509876544", "--phone-number-id", "2", "--access-token", "t",
            "--app-secret", "s", "--verify-token", "v", "--read-receipts", env=env)
    listed = json.loads(run_cli("channels", "list", "--json", env=env).stdout)
    assert [(a["accountId"], a["readReceipts"]) for a in listed] == [("972509876543", False), ("972509876544", True)]
    assert "read-receipts" in run_cli("channels", "list", env=env).stdout
    async with db.read() as conn:
        account = await accounts_store.find_by_phone_number_id(conn, "2")
    assert account is not None and account.read_receipts is True


async def test_secrets_from_the_environment(env) -> None:  # type: ignore[no-untyped-def]
    env = {**env, "INBOXD_WHATSAPP_ACCESS_TOKEN": "t", "INBOXD_WHATSAPP_APP_SECRET": "s", "INBOXD_WHATSAPP_VERIFY_TOKEN": "v"}
    run_cli("channels", "add-whatsapp", "--account-id", "+15550001111", "--phone-number-id", "555", env=env)
    [account] = json.loads(run_cli("channels", "list", "--json", env=env).stdout)
    assert account["accountId"] == "15550001111"


async def test_bad_account_id(env) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("channels", "add-whatsapp", "--account-id", "abc", "--phone-number-id", "1", "--access-token", "t",
                     "--app-secret", "s", "--verify-token", "v", env=env, check=False)
    assert result.returncode == 2 and "digits" in result.stderr
