"""https with the address pinned: the connection goes to the checked IP, while SNI and the
certificate check still use the host name (httpcore's `sni_hostname` extension)."""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from inboxd.media.fetch import FetchFailed, FetchOptions, fetch
from inboxd.media.ssrf import AddressPolicy
from tests.media import samples
from tests.media.conftest import LOOPBACK
from tests.media.origin import Origin

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for `media.test` only."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=media.test",
         "-addext", "subjectAltName=DNS:media.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@asynccontextmanager
async def serve_tls(app: Any, cert: Path, key: str | Path) -> AsyncIterator[int]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, ssl_certfile=str(cert), ssl_keyfile=str(key)
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


async def _loopback(host: str, port: int) -> list[Any]:
    return [ipaddress.ip_address("127.0.0.1")]


def _options(cert: Path) -> FetchOptions:
    return FetchOptions(
        connect_timeout=2,
        read_timeout=2,
        policy=AddressPolicy(allowed_networks=(LOOPBACK,)),
        resolver=_loopback,
        ssl_context=ssl.create_default_context(cafile=str(cert)),
    )


async def test_https_to_a_pinned_address_verifies_the_host_name(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    origin = Origin()
    async with serve_tls(origin.app(), cert, key) as port:
        async with fetch(f"https://media.test:{port}/files/photo.png", _options(cert)) as fetched:
            body = b"".join([chunk async for chunk in fetched.chunks()])
    assert body == samples.PNG
    assert origin.hits == [("/files/photo.png", f"media.test:{port}")]


async def test_a_certificate_for_another_name_is_refused(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    origin = Origin()
    async with serve_tls(origin.app(), cert, key) as port:
        with pytest.raises(FetchFailed) as caught:
            async with fetch(f"https://other.test:{port}/files/photo.png", _options(cert)):
                pass
    assert "certificate verification failed" in caught.value.reason
    assert origin.hits == []
