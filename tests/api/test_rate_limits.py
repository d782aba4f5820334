"""Rate limits: a token bucket per API token (its own `--rate/--burst`, or the default), per
client address without a valid token; 429 `rate_limited` with `Retry-After` and the IETF draft's
`RateLimit-Policy` / `RateLimit` headers; Meta's webhook and `/healthz` never limited; one budget
shared by every process (two `inboxd serve` on the same database)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from inboxd.config import Settings
from inboxd.domain.scopes import Scope
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from inboxd.store.tables import api_tokens
from tests.conftest import DbTarget
from tests.support.cli import cli_env, serve_process
from tests.support.server import LiveServer, start_server
from tests.support.transactions import count_write_transactions

SEARCH = "/server/api/v2/chats/search"


async def token_with(db: Database, name: str, *, rate: float | None = None, burst: int | None = None) -> dict[str, str]:
    async with db.write() as conn:
        secret, _ = await tokens_store.create_token(conn, name, [Scope.LIST_ALL_CHATS], rate_per_second=rate,
                                                     rate_burst=burst)
    return {"Authorization": f"Bearer {secret}"}


def remaining(response: httpx.Response) -> int:
    match = re.fullmatch(r'"(token|address)";r=(\d+);t=(\d+)', response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    return int(match.group(2))


async def test_past_its_burst_a_token_gets_429_and_another_token_does_not(client: httpx.AsyncClient, db: Database) -> None:
    slow = await token_with(db, "slow", rate=0.2, burst=5)
    other = await token_with(db, "other", rate=0.2, burst=5)
    answers = [await client.get(SEARCH, headers=slow) for _ in range(5)]
    assert [r.status_code for r in answers] == [200] * 5
    assert answers[0].headers["ratelimit-policy"] == '"token";q=5;w=25'
    assert remaining(answers[0]) >= remaining(answers[-1])
    refused = await client.get(SEARCH, headers=slow)
    assert refused.status_code == 429, refused.text
    body = refused.json()
    assert body["code"] == "rate_limited" and body["success"] is False
    assert body["requestId"] == refused.headers["x-request-id"]
    assert 1 <= int(refused.headers["retry-after"]) <= 5
    assert remaining(refused) == 0 and refused.headers["ratelimit-policy"] == '"token";q=5;w=25'
    assert (await client.get(SEARCH, headers=other)).status_code == 200


async def test_a_refused_token_is_accepted_again_once_its_bucket_refills(client: httpx.AsyncClient, db: Database) -> None:
    auth = await token_with(db, "refills", rate=5, burst=2)
    statuses = [(await client.get(SEARCH, headers=auth)).status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and 429 in statuses
    deadline = time.monotonic() + 30
    while (r := await client.get(SEARCH, headers=auth)).status_code == 429:
        assert time.monotonic() < deadline, "the bucket never refilled"
        await asyncio.sleep(float(r.headers["retry-after"]) / 5)
    assert r.status_code == 200


async def test_a_token_whose_limit_changes_gets_the_new_headers(client: httpx.AsyncClient, db: Database) -> None:
    """The header lines are kept per (kind, policy) and the policy per (rate, burst): a changed
    limit must not be answered with the old lines."""
    auth = await token_with(db, "changes", rate=1, burst=50)
    first = await client.get(SEARCH, headers=auth)
    assert first.headers["ratelimit-policy"] == '"token";q=50;w=50' and remaining(first) <= 50
    async with db.write() as conn:
        await conn.execute(sa.update(api_tokens).where(api_tokens.c.name == "changes").values(rate_per_second=2, rate_burst=4))
    deadline = time.monotonic() + 10
    while (r := await client.get(SEARCH, headers=auth)).headers["ratelimit-policy"] != '"token";q=4;w=2':
        assert time.monotonic() < deadline, r.headers["ratelimit-policy"]  # the token cache keeps a record 0.5 s
        await asyncio.sleep(0.1)
    assert remaining(r) <= 4 and re.fullmatch(r'"token";r=\d+;t=[0-2]', r.headers["ratelimit"])


@pytest.fixture
async def tight_server(settings: Settings, db: Database) -> AsyncIterator[LiveServer]:
    """Defaults of 3 at once, 0.1 a second: what an anonymous caller gets."""
    tight = settings.model_copy(update={"rate_limit_burst": 3, "rate_limit_per_second": 0.1})
    async with start_server(tight, db) as live:
        yield live


async def test_requests_without_a_valid_token_are_limited_per_address(tight_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=tight_server.url) as http:
        answers = [await http.get(SEARCH, headers={"Authorization": "Bearer wrong"}) for _ in range(3)]
        assert [r.status_code for r in answers] == [401] * 3
        assert answers[0].headers["ratelimit-policy"] == '"address";q=3;w=30'
        refused = await http.get("/server/api/v2/openapi.json")
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
        # Never limited: Meta's webhook (a refused one would be a delayed message) and the health check.
        for _ in range(10):
            assert (await http.get("/healthz")).status_code == 200
            webhook = await http.post("/webhooks/whatsapp", content=b"{}")
            assert webhook.status_code == 401 and "ratelimit" not in webhook.headers


async def test_a_flood_of_refused_requests_costs_no_database_writes(
    client: httpx.AsyncClient, db: Database, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = await token_with(db, "flood", rate=0.01, burst=1)
    assert (await client.get(SEARCH, headers=auth)).status_code == 200
    assert server.services is not None
    writes = count_write_transactions(server.services.db, monkeypatch)
    statuses = await asyncio.gather(*[client.get(SEARCH, headers=auth) for _ in range(30)])
    assert {r.status_code for r in statuses} == {429}
    assert writes[0] <= 1  # at most the one lease that found the bucket empty


async def test_concurrent_requests_of_one_token_share_its_burst(client: httpx.AsyncClient, db: Database) -> None:
    auth = await token_with(db, "burst", rate=0.01, burst=20)
    answers = await asyncio.gather(*[client.get(SEARCH, headers=auth) for _ in range(40)])
    assert sum(r.status_code == 200 for r in answers) == 20
    assert sum(r.status_code == 429 for r in answers) == 20


async def test_no_headers_and_no_429_when_the_limiter_is_off(settings: Settings, db: Database) -> None:
    off = settings.model_copy(update={"rate_limits": False, "rate_limit_burst": 1})
    auth = await token_with(db, "unlimited", rate=0.01, burst=1)
    async with start_server(off, db) as live, httpx.AsyncClient(base_url=live.url) as http:
        answers = [await http.get(SEARCH, headers=auth) for _ in range(5)]
    assert [r.status_code for r in answers] == [200] * 5
    assert "ratelimit" not in answers[0].headers


@pytest.mark.slow
async def test_one_budget_across_two_serve_processes(tmp_path: Path, db_target: DbTarget, db: Database) -> None:
    """Token A (burst 10, 0.5/s) alternates between two `inboxd serve` processes: together they
    admit its burst (plus what refilled, plus at most one lease per process), not twice it; token B,
    used at the same time, is never refused."""
    a = await token_with(db, "a", rate=0.5, burst=10)
    b = await token_with(db, "b", rate=100, burst=200)
    env = cli_env(tmp_path / "data", {**db_target.settings_env(), "INBOXD_SIMULATOR": "false", "INBOXD_WORKERS": "0"})
    with serve_process(env, log=tmp_path / "one.log") as one, serve_process(env, log=tmp_path / "two.log") as two:
        async with httpx.AsyncClient(timeout=30) as http:
            start = time.monotonic()
            admitted, refused, others = {one: 0, two: 0}, {one: 0, two: 0}, []
            for i in range(40):
                url = (one, two)[i % 2]
                r = await http.get(url + SEARCH, headers=a)
                assert r.status_code in (200, 429), r.text
                if r.status_code == 200:
                    admitted[url] += 1
                else:
                    refused[url] += 1
                    assert int(r.headers["retry-after"]) >= 1 and r.json()["code"] == "rate_limited"
                others.append((await http.get((two, one)[i % 2] + SEARCH, headers=b)).status_code)
            elapsed = time.monotonic() - start
    total = sum(admitted.values())
    assert total <= 10 + 0.5 * elapsed + 2, (admitted, elapsed)  # lease size 1: one extra per process at most
    assert total >= 10, admitted  # the burst is there to be used
    assert refused[one] and refused[two], refused  # both processes see the shared bucket empty
    assert set(others) == {200}
