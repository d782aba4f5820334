"""A signed-in agent is a rate-limit principal like a token: one bucket for all their sessions."""

from __future__ import annotations

import httpx

from inboxd.config import Settings
from inboxd.domain.scopes import ALL_SCOPES
from inboxd.store.db import Database
from tests.auth.conftest import API, make_agent, sign_in
from tests.support.server import start_server


async def test_an_agents_sessions_share_one_bucket(settings: Settings, db: Database, make_token) -> None:  # type: ignore[no-untyped-def]
    limited = settings.model_copy(update={"rate_limit_per_second": 0.01, "rate_limit_burst": 6})
    async with start_server(limited, db) as live:
        token = await make_token(*ALL_SCOPES)
        async with httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {token}"}) as admin:
            await make_agent(admin, "noa@example.com")
            await make_agent(admin, "dan@example.com")
        tabs = [await sign_in(live.url, "noa@example.com"), await sign_in(live.url, "noa@example.com")]
        other = await sign_in(live.url, "dan@example.com")  # the address's bucket: 3 of 6 sign-ins
        try:
            statuses = []
            for i in range(8):
                r = await tabs[i % 2].http.get(f"{API}/chats/search")
                statuses.append(r.status_code)
                if r.status_code == 200:
                    assert r.headers["ratelimit-policy"].startswith('"agent";q=6')
            assert statuses == [200] * 6 + [429] * 2
            assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
            # Another agent has a bucket of their own.
            assert (await other.http.get(f"{API}/chats/search")).status_code == 200
        finally:
            for browser in [*tabs, other]:
                await browser.http.aclose()
