"""`inboxd agents …`, `inboxd departments …` and `inboxd channels update` as a user runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from inboxd.agents.credentials import verify_credentials
from inboxd.store import accounts as accounts_store
from inboxd.store.db import Database
from tests.conftest import DbTarget, WhatsAppAccountSpec
from tests.support.cli import INBOXD, cli_env, run_cli


@pytest.fixture
def env(tmp_path: Path, db_target: DbTarget, db: Database) -> dict[str, str]:
    return cli_env(tmp_path / "data", db_target.settings_env())


def with_stdin(args: list[str], stdin: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*INBOXD, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60)


async def test_departments_and_agents_from_the_command_line(env, db: Database) -> None:  # type: ignore[no-untyped-def]
    out = run_cli("departments", "create", "--id", "customer_service", "--name", "Customer service",
                  "--assignment", "round_robin", env=env).stdout
    assert "customer_service" in out
    created = with_stdin(["agents", "create", "--email", "Tyler@Example.com", "--name", "Tyler", "--role", "admin",
                          "--department", "customer_service", "--crm-id", "crm-7", "--max-open-chats", "20",
                          "--password-stdin"], "correct horse battery\n", env)
    assert created.returncode == 0, created.stderr
    uid = created.stdout.strip()
    assert len(uid) == 36 and "correct horse" not in created.stdout + created.stderr

    [agent] = json.loads(run_cli("agents", "list", "--json", env=env).stdout)
    assert (agent["uid"], agent["email"], agent["roles"], agent["departments"], agent["crmId"], agent["maxOpenChats"]) == (
        uid, "Tyler@Example.com", ["admin"], ["customer_service"], "crm-7", 20)
    table = run_cli("agents", "list", env=env).stdout
    assert "Tyler@Example.com" in table and "password" not in table.lower()
    [department] = json.loads(run_cli("departments", "list", "--json", env=env).stdout)
    assert department["members"] == [uid] and department["assignment"] == "round_robin"
    assert "customer_service" in run_cli("departments", "list", env=env).stdout

    run_cli("agents", "update", uid, "--name", "Tyler D.", "--presence", "online", "--max-open-chats", "0",
            "--crm-id", "", "--no-departments", env=env)
    [agent] = json.loads(run_cli("agents", "list", "--json", env=env).stdout)
    assert (agent["displayName"], agent["presence"], agent["maxOpenChats"], agent["crmId"], agent["departments"]) == (
        "Tyler D.", "online", None, None, [])

    assert await verify_credentials(db, "tyler@example.com", "correct horse battery") is not None
    changed = with_stdin(["agents", "set-password", uid, "--password-stdin"], "a new long passphrase\n", env)
    assert changed.returncode == 0, changed.stderr
    assert await verify_credentials(db, "tyler@example.com", "correct horse battery") is None
    assert await verify_credentials(db, "tyler@example.com", "a new long passphrase") is not None

    run_cli("agents", "deactivate", uid, env=env)
    assert json.loads(run_cli("agents", "list", "--json", env=env).stdout)[0]["active"] is False
    assert "inactive" in run_cli("agents", "list", env=env).stdout
    run_cli("agents", "update", uid, "--activate", env=env)
    assert json.loads(run_cli("agents", "list", "--json", env=env).stdout)[0]["active"] is True


async def test_bad_input_is_refused_with_the_reason(env) -> None:  # type: ignore[no-untyped-def]
    bad = run_cli("departments", "create", "--id", "Not A Slug", "--name", "X", env=env, check=False)
    assert bad.returncode == 2 and "body.id" in bad.stderr
    short = with_stdin(["agents", "create", "--email", "a@b.c", "--name", "A", "--password-stdin"], "short\n", env)
    assert short.returncode == 2 and "password" in short.stderr and "short\n" not in short.stderr
    unknown = with_stdin(["agents", "create", "--email", "a@b.c", "--name", "A", "--department", "ghost",
                          "--password-stdin"], "long enough pass\n", env)
    assert unknown.returncode == 2 and "ghost" in unknown.stderr
    with_stdin(["agents", "create", "--email", "a@b.c", "--name", "A", "--password-stdin"], "long enough pass\n", env)
    again = with_stdin(["agents", "create", "--email", "A@B.C", "--name", "A", "--password-stdin"], "long enough pass\n", env)
    assert again.returncode == 1 and "already exists" in again.stderr
    missing = run_cli("agents", "deactivate", "0b1c4b8e-8f3c-4b7a-9c53-6a5b0c1d2e3f", env=env, check=False)
    assert missing.returncode == 1 and "No agent" in missing.stderr
    nothing = run_cli("agents", "update", "0b1c4b8e-8f3c-4b7a-9c53-6a5b0c1d2e3f", env=env, check=False)
    assert nothing.returncode == 2


async def test_channels_update_sets_the_default_department_and_resolution_message(  # type: ignore[no-untyped-def]
    env, db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    run_cli("departments", "create", "--id", "sales", "--name", "Sales", env=env)
    account = wa_account.account.account_id
    run_cli("channels", "update", account, "--department", "sales", "--resolution-message", "Bye for now!", env=env)
    async with db.read() as conn:
        assert await accounts_store.lifecycle_settings(conn, wa_account.account.id) == ("sales", "Bye for now!")
    [listed] = json.loads(run_cli("channels", "list", "--json", env=env).stdout)
    assert (listed["defaultDepartment"], listed["resolutionMessage"]) == ("sales", "Bye for now!")
    run_cli("channels", "update", wa_account.account.id, "--department", "", "--resolution-message", "", env=env)
    async with db.read() as conn:
        assert await accounts_store.lifecycle_settings(conn, wa_account.account.id) == (None, None)
    ghost = run_cli("channels", "update", account, "--department", "ghost", env=env, check=False)
    assert ghost.returncode == 2 and "no department" in ghost.stderr
    nobody = run_cli("channels", "update", "999", "--department", "sales", env=env, check=False)
    assert nobody.returncode == 1 and "no channel account" in nobody.stderr
