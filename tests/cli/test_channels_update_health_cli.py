"""`inboxd channels update ACCOUNT` (credentials and connection settings; a running server sees
the change) and `inboxd channels health` (the active problems)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from inboxd.domain.clock import now_ms
from inboxd.health import kinds as K
from inboxd.health import problems as problems_store
from inboxd.health.kinds import Raise
from inboxd.store import accounts as accounts_store
from inboxd.store.db import Database
from tests.conftest import DbTarget, WhatsAppAccountSpec
from tests.support.cli import cli_env, run_cli
from tests.support.server import LiveServer
from tests.support.webhooks import post_webhook


@pytest.fixture
def env(tmp_path: Path, db_target: DbTarget, db: Database) -> dict[str, str]:
    return cli_env(tmp_path / "data", db_target.settings_env())


async def test_update_changes_what_is_given_and_prints_no_secret(env, db: Database, wa_account: WhatsAppAccountSpec) -> None:  # type: ignore[no-untyped-def]
    secrets = ("EAAG-new-token", "new-app-secret", "new-verify")
    out = run_cli("channels", "update", "+15550783881", "--access-token", secrets[0], "--app-secret", secrets[1],
                  "--verify-token", secrets[2], "--graph-url", "http://127.0.0.1:8090", "--mps", "250",
                  "--api-version", "v24.0", "--waba-id", "w-9", env=env).stdout
    assert "updated whatsapp account 15550783881" in out
    assert "access token, app secret, verify token, graph url, api version, mps, waba id" in out
    for secret in secrets:
        assert secret not in out
    async with db.read() as conn:
        account = await accounts_store.get_account(conn, wa_account.account.id)
    assert account is not None
    assert (account.access_token, account.app_secret, account.verify_token) == secrets
    assert (account.graph_url, account.mps, account.api_version, account.waba_id) == (
        "http://127.0.0.1:8090", 250, "v24.0", "w-9")
    assert account.phone_number_id == wa_account.account.phone_number_id  # untouched

    run_cli("channels", "update", wa_account.account.id, "--mps", "90", env=env)  # by inboxd id too
    [listed] = json.loads(run_cli("channels", "list", "--json", env=env).stdout)
    assert listed["mps"] == 90 and listed["graphUrl"] == "http://127.0.0.1:8090"


async def test_update_refusals(env, wa_account: WhatsAppAccountSpec) -> None:  # type: ignore[no-untyped-def]
    nothing = run_cli("channels", "update", "15550783881", env=env, check=False)
    assert nothing.returncode == 2 and "nothing to change" in nothing.stderr
    unknown = run_cli("channels", "update", "972500000000", "--mps", "5", env=env, check=False)
    assert unknown.returncode == 1 and "no channel account" in unknown.stderr
    bad = run_cli("channels", "update", "15550783881", "--mps", "0", env=env, check=False)
    assert bad.returncode == 2


async def test_a_running_server_sees_a_new_app_secret(
    env, server: LiveServer, db: Database, wa_account: WhatsAppAccountSpec  # type: ignore[no-untyped-def]
) -> None:
    """The webhook-secrets cache: a webhook signed with the new secret is taken at once, one signed
    with the old secret is refused once the cache dropped it (at once on PostgreSQL, within its
    few seconds on SQLite)."""
    payload = {"object": "whatsapp_business_account", "entry": []}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        assert (await post_webhook(http, payload, wa_account.app_secret)).status_code == 200
        run_cli("channels", "update", "15550783881", "--app-secret", "rotated-secret", env=env)
        assert (await post_webhook(http, payload, "rotated-secret")).status_code == 200
        deadline = time.monotonic() + 15
        while (await post_webhook(http, payload, wa_account.app_secret)).status_code != 401:
            assert time.monotonic() < deadline, "the old app secret is still accepted"
            await asyncio.sleep(0.1)
        params = {"hub.mode": "subscribe", "hub.challenge": "c", "hub.verify_token": "new-verify"}
        run_cli("channels", "update", "15550783881", "--verify-token", "new-verify", env=env)
        r = await http.get("/webhooks/whatsapp", params=params)
        assert r.status_code == 200 and r.text == "c"


async def test_health_prints_the_active_problems(env, db: Database, wa_account: WhatsAppAccountSpec) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("channels", "health", env=env).stdout.strip() == "no active channel health problems"
    from inboxd.domain_events import DomainEvents

    events = DomainEvents()
    async with db.write() as conn:
        locked = await problems_store.raise_problem(
            conn, events, wa_account.account, Raise(K.ACCOUNT_LOCKED, fields={"graph": "locked"}), now_ms())
        silent = await problems_store.raise_problem(
            conn, events, wa_account.account, Raise(K.WEBHOOKS_SILENT, fields={"hours": "6"}), now_ms())
    assert locked is not None and silent is not None
    out = run_cli("channels", "health", env=env).stdout
    assert "ERROR    whatsapp 15550783881  whatsapp_account_locked" in out
    assert "WARNING  whatsapp 15550783881  whatsapp_webhooks_not_received" in out
    assert "WhatsApp has locked this business account" in out and "→ Open WhatsApp Manager" in out
    listed = json.loads(run_cli("channels", "health", "--json", env=env).stdout)
    assert sorted(p["_id"] for p in listed) == sorted([locked["_id"], silent["_id"]])

    async with db.write() as conn:
        await problems_store.resolve_by_operator(conn, events, locked["_id"], now_ms())
    out = run_cli("channels", "health", env=env).stdout
    assert "whatsapp_account_locked" not in out and "whatsapp_webhooks_not_received" in out
    out = run_cli("channels", "health", "--all", env=env).stdout
    assert "whatsapp_account_locked" in out and "resolved" in out
