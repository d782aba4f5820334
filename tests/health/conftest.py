"""Channel health tests: inboxd served over loopback (workers on, so the health loop runs), a
receiver for the Channel Health Problem events, the simulator rig for end-to-end signals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from inboxd.config import Settings
from inboxd.domain_events import CHANNEL_PROBLEM_CREATED, CHANNEL_PROBLEM_RESOLVED
from inboxd.store import accounts as accounts_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import Database
from tests.events.conftest import Receiver, receiver, subscribe
from tests.support.server import LiveServer, start_server
from tests.support.wa import WhatsAppRig, whatsapp_rig

API = "/server/api/v2"
WABA = "102290129340398"  # the WABA of the webhook fixtures
__all__ = ["receiver"]  # the event subscriptions' receiver fixture, shared
APP_SECRET = "health-app-secret"


@pytest.fixture
def health_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"events_allow_private_urls": True, "events_retry_max_seconds": 0.2, "events_timeout_seconds": 2.0,
                "media_allow_private_urls": True, "delivery_doubt_grace_seconds": 1.0, "delivery_lease_seconds": 5.0}
    )


@pytest.fixture
async def live(health_settings: Settings, db: Database) -> AsyncIterator[LiveServer]:
    async with start_server(health_settings, db) as server:
        yield server


@pytest.fixture
async def rig(live: LiveServer, db: Database) -> AsyncIterator[WhatsAppRig]:
    async with whatsapp_rig(live, db) as wa:
        yield wa


@pytest.fixture
async def fixture_account(db: Database) -> ChannelAccount:
    """The account the webhook fixtures are for (WABA, display number, phone number id)."""
    async with db.write() as conn:
        return await accounts_store.add_whatsapp_account(
            conn, account_id="15550783881", phone_number_id="106540352242922", access_token="t",
            app_secret=APP_SECRET, verify_token="v", graph_url="http://127.0.0.1:9", waba_id=WABA,
        )


class EventLog:
    """Every Channel Health Problem Created / Resolved the server's domain event bus published."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.resolved: list[dict[str, Any]] = []

    async def on_created(self, _conn: Any, problem: dict[str, Any]) -> None:
        self.created.append(problem)

    async def on_resolved(self, _conn: Any, problem: dict[str, Any]) -> None:
        self.resolved.append(problem)


@pytest.fixture
def event_log(live: LiveServer) -> EventLog:
    log = EventLog()
    assert live.services is not None
    live.services.events.subscribe(CHANNEL_PROBLEM_CREATED, log.on_created)
    live.services.events.subscribe(CHANNEL_PROBLEM_RESOLVED, log.on_resolved)
    return log


async def subscribe_health_events(api: httpx.AsyncClient, receiver: Receiver) -> None:
    for name in ("channel-health-problem-created", "channel-health-problem-resolved"):
        await subscribe(api, name, receiver.url)


async def problems(client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(f"{API}/channels/problems", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["problems"])
    return body["problems"]


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 15.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (generous: a loaded machine is slow)."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within}s (last: {result!r})")
        await asyncio.sleep(0.05)


def named(found: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [p for p in found if p["name"] == name]
