"""Event subscription tests: inboxd served over loopback, a receiver app that records what it
gets and answers as told, and the scenario templates of tests/events/templates."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from inboxd.config import Settings
from inboxd.domain.scopes import Scope
from inboxd.events.signing import EVENT_ID_HEADER, SIGNATURE_HEADER
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from tests.support.server import LiveServer, serve_asgi, start_server

API = "/server/api/v2"
TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE_NAMES = sorted(p.stem for p in TEMPLATES.glob("*.json"))


def template(name: str, url: str, *, as_status: str = "active", **words: str) -> dict[str, Any]:
    """A template file as a client would send it: `{{yourWebhookURL}}` and the other
    `{{placeholders}}` (`word1`, `targetLabelId`, …) filled in."""
    text = (TEMPLATES / f"{name}.json").read_text()
    for key, value in {"yourWebhookURL": url, **words}.items():
        text = text.replace("{{" + key + "}}", value)
    body = json.loads(text)
    body["asStatus"] = as_status
    return body


@dataclass
class Received:
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]
    path: str
    at: float

    @property
    def event_id(self) -> str:
        return self.headers[EVENT_ID_HEADER.lower()]

    @property
    def signature(self) -> str:
        return self.headers[SIGNATURE_HEADER.lower()]


@dataclass
class Receiver:
    """A subscriber's endpoint. `answer` decides the response to each request (default 200);
    `requests` are the ones it answered 2xx, `seen` every request."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    seen: list[Received] = field(default_factory=list)
    answer: Callable[[Received], Response | Any] | None = None

    def app(self) -> Starlette:
        async def handle(request: Request) -> Response:
            raw = await request.body()
            item = Received(orjson.loads(raw) if raw else {}, raw, dict(request.headers), request.url.path,
                            time.monotonic())
            self.seen.append(item)
            response = self.answer(item) if self.answer else Response(status_code=200)
            if asyncio.iscoroutine(response):
                response = await response
            if 200 <= response.status_code < 300:
                self.requests.append(item)
            return response

        return Starlette(routes=[Route("/{path:path}", handle, methods=["POST", "PUT", "PATCH"])])

    def named(self, event_name: str) -> list[Received]:
        return [r for r in self.requests if r.body.get("eventName") == event_name]

    async def wait_for(self, count: int, within: float = 10.0, event_name: str | None = None) -> list[Received]:
        deadline = time.monotonic() + within
        while True:
            got = self.named(event_name) if event_name else self.requests
            if len(got) >= count:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver got {len(got)} of {count} events ({event_name or 'any'})")
            await asyncio.sleep(0.02)

    async def settle(self, seconds: float = 0.5) -> None:
        """Wait until nothing new arrives for `seconds` (to show that no more events come)."""
        count = -1
        while count != len(self.seen):
            count = len(self.seen)
            await asyncio.sleep(seconds)


@pytest.fixture
def events_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "events_allow_private_urls": True,
            "events_retry_max_seconds": 0.2,
            "events_timeout_seconds": 2.0,
            "media_allow_private_urls": True,
        }
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    async with serve_asgi(rec.app()) as (url, _port):
        rec.url = f"{url}/hooks"
        yield rec


@pytest.fixture
async def live(events_settings: Settings, db: Database) -> AsyncIterator[LiveServer]:
    async with start_server(events_settings, db) as server:
        yield server


async def token(db: Database, *scopes: Scope) -> str:
    async with db.write() as conn:
        secret, _ = await tokens_store.create_token(conn, "events-test", list(scopes or Scope))
    return secret


@pytest.fixture
async def api(live: LiveServer, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """inboxd's API with a token holding every scope."""
    secret = await token(db)
    async with httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {secret}"}, timeout=30) as http:
        yield http


async def subscribe(api: httpx.AsyncClient, name: str, url: str, **kwargs: Any) -> dict[str, Any]:
    r = await api.post(f"{API}/scenarios/manage/import", json=template(name, url, **kwargs))
    assert r.status_code == 201, r.text
    return r.json()


async def runs(api: httpx.AsyncClient, scenario_id: str, **params: Any) -> list[dict[str, Any]]:
    r = await api.get(f"{API}/scenarios/manage/{scenario_id}/runs", params=params)
    assert r.status_code == 200, r.text
    return r.json()["runs"]
