"""Templates end to end: inboxd wired to a standalone simulator playing Meta (approval included)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from inboxd.config import Settings
from inboxd.store.db import Database
from tests.support.server import serve_asgi, start_server
from tests.support.wa import API, WhatsAppRig, whatsapp_rig

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BODY = "Hi {{1}}, your order {{2}} is ready"


@pytest.fixture
def rig_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"media_allow_private_urls": True, "default_country_code": "972"})


@pytest.fixture
async def rig(rig_settings: Settings, db: Database) -> AsyncIterator[WhatsAppRig]:
    async with start_server(rig_settings, db) as live, whatsapp_rig(live, db) as wa:
        yield wa


@pytest.fixture
async def origin() -> AsyncIterator[str]:
    """Files to use as header media, on loopback (the rig allows private URLs)."""

    async def png(_request):  # type: ignore[no-untyped-def]
        return Response(PNG, media_type="image/png")

    async def pdf(_request):  # type: ignore[no-untyped-def]
        return Response(PDF, media_type="application/pdf")

    app = Starlette(routes=[Route("/pic.png", png), Route("/receipt.pdf", pdf)])
    async with serve_asgi(app) as (url, _port):
        yield url


def templates_path(rig: WhatsAppRig, *parts: str) -> str:
    return "/".join([f"{API}/whatsapp/templates/{rig.account.account_id}", *parts])


async def create(rig: WhatsAppRig, **fields: Any) -> dict[str, Any]:
    body = {"title": "Order ready", "category": "UTILITY", "chatStatus": 1, "usage": "inbox", **fields}
    r = await rig.client.post(templates_path(rig), json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def localize(rig: WhatsAppRig, name: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await rig.client.post(templates_path(rig, name, "localizations"), json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def submit(rig: WhatsAppRig, name: str, language: str = "en") -> dict[str, Any]:
    r = await rig.client.post(templates_path(rig, name, "localizations", language, "submit"))
    assert r.status_code == 200, r.text
    return r.json()


async def wait_status(rig: WhatsAppRig, name: str, language: str, status: str, wait_s: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + wait_s
    while True:
        r = await rig.client.get(f"{API}/whatsapp/templates", params={"includeAll": "true"})
        assert r.status_code == 200, r.text
        found = next((t for t in r.json() if t["name"] == name), None)
        locs = {loc["language"]: loc for loc in (found or {}).get("provider_template", {}).get("localizations", [])}
        if language in locs and locs[language]["status"] == status:
            return found  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} {language} is not {status}: {found}")
        await asyncio.sleep(0.05)


async def approved_template(
    rig: WhatsAppRig, *, body_text: str = BODY, components: list[dict[str, Any]] | None = None,
    language: str = "en", defaults: dict[str, Any] | None = None, **fields: Any,
) -> dict[str, Any]:
    """create → localize → submit → APPROVED by the simulator (via its status webhook)."""
    template = await create(rig, **fields)
    name = template["name"]
    if components is None:
        components = [{"type": "BODY", "text": body_text}]
        if "{{" in body_text:
            count = body_text.count("{{")
            components[0]["example"] = {"body_text": [[f"sample{i}" for i in range(1, count + 1)]]}
    draft: dict[str, Any] = {"language": language, "components": components}
    if defaults is not None:
        draft["defaults"] = defaults
    await localize(rig, name, draft)
    await submit(rig, name, language)
    return await wait_status(rig, name, language, "APPROVED")


async def send_template(rig: WhatsAppRig, body: dict[str, Any], **kwargs: Any):  # type: ignore[no-untyped-def]
    return await rig.client.post(f"{API}/whatsapp/templates/send", json=body, **kwargs)
