"""The delivery client judges the address every connection goes to: a receiver name that
resolves to a private address is refused (a permanent failure, not retried), unless private
receivers are allowed; the connection still speaks to the URL's host name."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inboxd.config import Settings
from inboxd.events.retry import Outcome
from inboxd.events.signing import sign, verify
from inboxd.events.transport import AddressRefused, new_event_client
from inboxd.events.worker import EventDeliveryWorker
from inboxd.media.ssrf import IPAddress
from tests.support.server import serve_asgi


def resolver_to(*addresses: str):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in addresses]

    return resolve


@pytest.fixture
async def echo() -> AsyncIterator[int]:
    async def handle(request: Request) -> JSONResponse:
        return JSONResponse({"host": request.headers["host"], "body": (await request.body()).decode()})

    async with serve_asgi(Starlette(routes=[Route("/", handle, methods=["POST"])])) as (_url, port):
        yield port


@pytest.mark.parametrize("addresses", [("127.0.0.1",), ("93.184.216.34", "10.0.0.7"), ("::ffff:127.0.0.1",), ("169.254.169.254",)])
async def test_a_name_resolving_to_a_private_address_is_refused(echo: int, addresses: tuple[str, ...]) -> None:
    async with new_event_client(timeout=2, allow_private=False, resolver=resolver_to(*addresses)) as client:
        with pytest.raises(AddressRefused, match="INBOXD_EVENTS_ALLOW_PRIVATE_URLS"):
            await client.post(f"http://receiver.test:{echo}/", content=b"{}")


async def test_a_literal_private_address_is_refused() -> None:
    async with new_event_client(timeout=2, allow_private=False) as client:
        with pytest.raises(AddressRefused, match="127.0.0.1 is a loopback address"):
            await client.post("http://127.0.0.1:9/", content=b"{}")


async def test_allowed_private_receivers_are_reached_by_name(echo: int) -> None:
    async with new_event_client(timeout=2, allow_private=True, resolver=resolver_to("127.0.0.1")) as client:
        r = await client.post(f"http://receiver.test:{echo}/", content=b'{"a":1}')
    assert r.status_code == 200 and r.json() == {"host": f"receiver.test:{echo}", "body": '{"a":1}'}


async def test_redirects_are_not_followed() -> None:
    async def moved(_request: Request) -> JSONResponse:
        return JSONResponse({}, status_code=307, headers={"Location": "http://169.254.169.254/"})

    async with serve_asgi(Starlette(routes=[Route("/", moved, methods=["POST"])])) as (url, _port):
        async with new_event_client(timeout=2, allow_private=True) as client:
            r = await client.post(f"{url}/", content=b"{}")
    assert r.status_code == 307


async def test_a_refused_address_fails_the_delivery_without_retry(echo: int) -> None:
    client = new_event_client(timeout=2, allow_private=False, resolver=resolver_to("127.0.0.1"))
    worker = EventDeliveryWorker(db=None, settings=Settings(), client=client)  # type: ignore[arg-type]
    row = {"id": "e1", "scenario_id": "s1", "attempts": 1, "method": "post", "url": f"http://receiver.test:{echo}/",
           "headers": None, "body": "{}", "signing_secret": "whsec_x"}
    try:
        attempt = await worker._attempt(row)
    finally:
        await client.aclose()
    assert attempt["outcome"] is Outcome.FAILED and attempt["status_code"] is None
    assert "receiver.test resolves to 127.0.0.1, which is a loopback address" in attempt["error"]


def test_signature_is_hmac_sha256_of_the_body() -> None:
    # printf '%s' '{"eventName":"x"}' | openssl dgst -sha256 -hmac whsec_test
    expected = "sha256=bdc6069109822b477efc2550c157d03b2eb01a348e2ea9d8bff986d663ed313e"
    assert sign("whsec_test", b'{"eventName":"x"}') == expected
    assert verify("whsec_test", b'{"eventName":"x"}', expected)
    assert not verify("whsec_other", b'{"eventName":"x"}', expected)
    assert not verify("whsec_test", b'{"eventName":"y"}', expected)
    assert not verify("whsec_test", b'{"eventName":"x"}', None)
