from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest

from inboxd.config import Settings
from inboxd.media.fetch import FetchOptions
from inboxd.media.filestore import FileStore, open_file_store
from inboxd.media.ssrf import AddressPolicy
from tests.media.origin import Origin
from tests.support.server import serve_asgi

LOOPBACK = ipaddress.ip_network("127.0.0.1/32")


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    server = Origin()
    async with serve_asgi(server.app()) as (url, _port):
        server.url = url
        yield server


@pytest.fixture
async def files(settings: Settings) -> AsyncIterator[FileStore]:
    store = open_file_store(settings)
    yield store
    await store.aclose()


@pytest.fixture
def trusting_origin() -> FetchOptions:
    """The default rules, except that 127.0.0.1 (only) is trusted: the test origin lives there,
    while 127.0.0.2, ::1, 10/8, 169.254/16 … stay forbidden."""
    return FetchOptions(connect_timeout=2, read_timeout=2, policy=AddressPolicy(allowed_networks=(LOOPBACK,)))
