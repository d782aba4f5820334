"""A standalone simulator on a loopback port, and a webhook receiver that records what the
simulator posts (the stand-in for a client's callback in tests that are not about inboxd)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from inboxd.simulator import Simulator, SimulatorConfig, StatusDelays, create_simulator_app
from tests.support.server import serve_asgi

# A 1×1 PNG: the smallest image the upload rules accept.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

B64 = base64.b64encode(PNG).decode()

# One control-API body per kind of message a user can send.
INBOUND_BODIES: dict[str, dict[str, Any]] = {
    "text": {"text": {"body": "Hi"}},
    "image": {"image": {"data": B64, "caption": "look"}},
    "video": {"video": {"data": B64, "mime_type": "video/mp4"}},
    "audio": {"audio": {"data": B64, "mime_type": "audio/ogg; codecs=opus", "voice": True}},
    "document": {"document": {"data": B64, "filename": "invoice.pdf", "mime_type": "application/pdf"}},
    "sticker": {"sticker": {"data": B64, "mime_type": "image/webp"}},
    "location": {"location": {"latitude": 32.0853, "longitude": 34.7818, "name": "Tel Aviv"}},
    "contacts": {"contacts": [{"name": {"formatted_name": "Avi"}, "phones": [{"phone": "+972501234567"}]}]},
    "button_reply": {"interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}},
    "list_reply": {"interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Row"}}},
    "button": {"button": {"payload": "STOP"}},
    "reaction": {"reaction": {"message_id": "wamid.X", "emoji": "👍"}},
    "raw": {"raw": {"type": "system", "system": {"body": "changed number", "type": "user_changed_number"}}},
}


async def eventually(check: Callable[[], Any], within: float = 10.0, interval: float = 0.02) -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(interval)


@dataclass
class Receiver:
    """Records every POST; answers `fail_status` to the next `fail_next` of them."""

    url: str = ""
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 500

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        request = Request(scope, receive)
        body = await request.body()
        self.posts.append(({k.lower(): v for k, v in request.headers.items()}, body))
        if self.fail_next > 0:
            self.fail_next -= 1
            response = JSONResponse({"ok": False}, status_code=self.fail_status)
        else:
            response = JSONResponse({"ok": True})
        await response(scope, receive, send)

    def payloads(self) -> list[dict[str, Any]]:
        return [orjson.loads(body) for _, body in self.posts]

    def values(self) -> list[dict[str, Any]]:
        return [change["value"] for p in self.payloads() for e in p["entry"] for change in e["changes"]]

    def statuses(self, wamid: str | None = None) -> list[dict[str, Any]]:
        found = [s for v in self.values() for s in v.get("statuses", [])]
        return [s for s in found if wamid is None or s["id"] == wamid]

    def messages(self) -> list[dict[str, Any]]:
        return [m for v in self.values() for m in v.get("messages", [])]


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    async with serve_asgi(receiver) as (url, _port):
        receiver.url = url + "/webhook"
        yield receiver


@dataclass
class RunningSimulator:
    sim: Simulator
    url: str
    graph: httpx.AsyncClient  # base URL `<url>/v23.0`, with the access token
    control: httpx.AsyncClient  # base URL `<url>`

    @property
    def config(self) -> SimulatorConfig:
        return self.sim.config

    async def send(self, payload: Any, **kwargs: Any) -> httpx.Response:
        return await self.graph.post(f"/{self.config.phone_number_id}/messages", json=payload, **kwargs)

    async def inbound(self, **body: Any) -> dict[str, Any]:
        r = await self.control.post("/simulator/inbound", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    async def user_writes(self, wa_id: str, text: str = "Hi", name: str = "Dana") -> str:
        """The user writes (which opens their 24-hour window); the wamid of their message."""
        return (await self.inbound(**{"from": wa_id, "name": name, "text": {"body": text}}))["id"]

    async def sent_to(self, wa_id: str) -> list[dict[str, Any]]:
        r = await self.control.get(f"/simulator/contacts/{wa_id}/sent")
        assert r.status_code == 200, r.text
        return r.json()["data"]


def quick_config(**overrides: Any) -> SimulatorConfig:
    """A test configuration: no status delays, approval at once."""
    overrides.setdefault("status_delays", StatusDelays(sent=0, delivered=0, read=0))
    overrides.setdefault("template_approval_delay", 0)
    return SimulatorConfig(**overrides)


@asynccontextmanager
async def running_simulator(config: SimulatorConfig | None = None) -> AsyncIterator[RunningSimulator]:
    sim = Simulator(config or quick_config())
    async with serve_asgi(create_simulator_app(sim)) as (url, _port):
        sim.config.public_graph_url = url
        headers = {"Authorization": f"Bearer {sim.config.access_token}"}
        async with (
            httpx.AsyncClient(base_url=f"{url}/v23.0", headers=headers, timeout=30) as graph,
            httpx.AsyncClient(base_url=url, timeout=30) as control,
        ):
            yield RunningSimulator(sim, url, graph, control)
