"""The lockout after failed sign-ins (docs/sign-in.md): 10 failures for one email within 15
minutes → 429 with Retry-After, counted in the database — so it holds across processes."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from inboxd.domain import sessions as rules
from inboxd.domain.clock import now_ms
from inboxd.domain.scopes import ALL_SCOPES
from inboxd.store.db import Database
from inboxd.store.tables import login_failures
from tests.auth.conftest import API, PASSWORD, make_agent
from tests.conftest import DbTarget
from tests.support.cli import cli_env, serve_process
from tests.support.server import LiveServer


async def _try(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post(f"{API}/auth/login", json={"email": email, "password": password})


async def test_ten_failures_lock_the_email_out_even_for_the_right_password(
    server: LiveServer, admin: httpx.AsyncClient, db: Database
) -> None:
    await make_agent(admin, "noa@example.com")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        assert (await _try(http, "noa@example.com", PASSWORD)).status_code == 200
        for i in range(rules.LOCKOUT_FAILURES):
            r = await _try(http, "NOA@example.com" if i % 2 else "noa@example.com", f"wrong password {i}")
            assert r.status_code == 401, (i, r.text)
        for password in ("wrong again", PASSWORD):
            r = await _try(http, "noa@example.com", password)
            assert r.status_code == 429, r.text
            assert r.json()["code"] == "rate_limited" and "set-cookie" not in r.headers
            assert 14 * 60 <= int(r.headers["retry-after"]) <= 15 * 60
        # Other emails are not affected, known or not.
        assert (await _try(http, "nobody@example.com", PASSWORD)).status_code == 401
    # The lock lifts when the oldest failure leaves the window: moved back in time here.
    async with db.write() as conn:
        oldest = (await conn.execute(sa.select(sa.func.min(login_failures.c.failed_at)))).scalar_one()
        await conn.execute(login_failures.update().where(login_failures.c.failed_at == oldest)
                           .values(failed_at=now_ms() - rules.LOCKOUT_WINDOW_MS - 1000))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        assert (await _try(http, "noa@example.com", PASSWORD)).status_code == 200
        # A success clears the count.
        assert (await _try(http, "noa@example.com", "wrong")).status_code == 401
        assert (await _try(http, "noa@example.com", PASSWORD)).status_code == 200


def test_retry_after_counts_from_the_failure_that_frees_a_slot() -> None:
    now = 10_000_000
    minute = 60_000
    assert rules.lockout_retry_after([now - i * minute for i in range(9)], now) is None
    ten = [now - i * minute for i in range(10)]  # the oldest 9 minutes ago
    assert rules.lockout_retry_after(ten, now) == 6 * 60
    twelve = [now - i * minute for i in range(12)]  # 11 minutes ago; two must go for a free slot
    assert rules.lockout_retry_after(twelve, now) == 6 * 60
    assert rules.lockout_retry_after([now - 16 * minute] * 20, now) is None


@pytest.mark.slow
async def test_the_lockout_holds_across_two_serve_processes(
    db: Database, db_target: DbTarget, tmp_path: Path, make_token  # type: ignore[no-untyped-def]
) -> None:
    if not db.is_postgres:
        pytest.skip("several processes share PostgreSQL")
    token = await make_token(*ALL_SCOPES)
    env = cli_env(tmp_path / "data", {**db_target.settings_env(), "INBOXD_SIMULATOR": "false", "INBOXD_WORKERS": "0",
                                      "INBOXD_LOG_LEVEL": "warning"})
    with ExitStack() as stack:
        urls = [stack.enter_context(serve_process(env, log=tmp_path / f"serve{i}.log")) for i in range(2)]
        async with httpx.AsyncClient(base_url=urls[0], headers={"Authorization": f"Bearer {token}"}) as admin:
            await make_agent(admin, "noa@example.com")
        clients = [httpx.AsyncClient(base_url=url, timeout=30) for url in urls]
        try:
            for i in range(rules.LOCKOUT_FAILURES):  # alternating between the processes
                r = await _try(clients[i % 2], "noa@example.com", f"wrong {i}")
                assert r.status_code == 401, (i, r.text)
            for http in clients:
                r = await _try(http, "noa@example.com", PASSWORD)
                assert r.status_code == 429 and int(r.headers["retry-after"]) > 0, r.text
        finally:
            for http in clients:
                await http.aclose()
