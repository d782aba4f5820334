from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from inboxd.config import Settings
from inboxd.store.db import Database
from tests.support.server import serve_asgi, start_server
from tests.support.wa import WhatsAppRig, whatsapp_rig

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def rig_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"media_allow_private_urls": True, "delivery_doubt_grace_seconds": 1.0, "delivery_lease_seconds": 5.0}
    )


@pytest.fixture
async def rig(rig_settings: Settings, db: Database) -> AsyncIterator[WhatsAppRig]:
    async with start_server(rig_settings, db) as live, whatsapp_rig(live, db) as wa:
        yield wa


def _origin() -> Starlette:
    async def png(_request):  # type: ignore[no-untyped-def]
        return Response(PNG, media_type="image/png")

    async def pdf(_request):  # type: ignore[no-untyped-def]
        return Response(PDF, media_type="application/octet-stream")

    async def html(_request):  # type: ignore[no-untyped-def]
        return Response(b"<!doctype html><html><body>not an image</body></html>", media_type="image/png")

    async def big(_request):  # type: ignore[no-untyped-def]
        return Response(PNG[:33] + b"\0" * 6_000_000, media_type="image/png")

    return Starlette(routes=[Route("/pic.png", png), Route("/offer.pdf", pdf), Route("/page.png", html), Route("/big.png", big)])


@pytest.fixture
async def origin() -> AsyncIterator[str]:
    """A web server with files to send by URL (on loopback: the rig allows private URLs)."""
    async with serve_asgi(_origin()) as (url, _port):
        yield url
