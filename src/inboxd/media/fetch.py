"""Download a media URL: redirects followed here, every hop through the SSRF guard and pinned
to the address that was checked (`media.ssrf`), streamed, with connect/read timeouts.

Each hop gets its own short-lived httpx client, so a pooled connection opened (and
TLS-verified) for one host name is never reused for another name on the same address. The
client ignores proxy environment variables (a proxy would resolve the name itself, after our
check) and asks for `Accept-Encoding: identity`, so the size limit counts the bytes that are
stored and a small compressed body cannot expand into a large one in memory.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import certifi
import httpx

from inboxd import __version__
from inboxd.config import Settings
from inboxd.media.ssrf import (
    AddressPolicy,
    IPAddress,
    Resolver,
    UrlRefused,
    checked_addresses,
    origin,
    parse_url,
    pinned_request_args,
    system_resolver,
)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024
# A name can resolve to many addresses; trying a few covers an unreachable IPv6 address
# without letting one URL cost many connect timeouts.
MAX_ADDRESSES_TRIED = 3

USER_AGENT = f"inboxd/{__version__} (media fetch)"


class FetchFailed(Exception):
    """The URL could not be fetched. `reason` is a sentence for the API client."""

    def __init__(self, reason: str, *, code: str = "media_url_unreachable") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@cache
def default_ssl_context() -> ssl.SSLContext:
    # One context for every hop: building one loads the CA bundle, which is slow.
    return ssl.create_default_context(cafile=certifi.where())


@dataclass(frozen=True)
class FetchOptions:
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    # The whole download, redirects included: the read timeout alone lets a server that sends
    # a byte every few seconds hold a request for ever.
    total_timeout: float = 300.0
    max_redirects: int = 5
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    resolver: Resolver = system_resolver
    ssl_context: ssl.SSLContext | None = None  # None: the system's CAs via certifi

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> FetchOptions:
        values: dict[str, Any] = {
            "connect_timeout": settings.media_connect_timeout,
            "read_timeout": settings.media_read_timeout,
            "policy": AddressPolicy(allow_private=settings.media_allow_private_urls),
        }
        return cls(**(values | overrides))

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout, read=self.read_timeout, write=self.read_timeout, pool=self.connect_timeout
        )


@dataclass
class Fetched:
    """A response whose status is 2xx, body not read yet."""

    response: httpx.Response
    url: httpx.URL  # the final URL, after redirects (as the client wrote it, not the IP)
    read_timeout: float

    @property
    def declared_length(self) -> int | None:
        value = self.response.headers.get("content-length", "")
        return int(value) if value.isdigit() else None

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.aiter_raw(CHUNK_BYTES):
                yield chunk
        except httpx.TimeoutException as exc:
            raise FetchFailed(
                f"Reading the media from {origin(self.url)} timed out (no data for {self.read_timeout} s)."
            ) from exc
        except httpx.HTTPError as exc:
            raise FetchFailed(f"Reading the media from {origin(self.url)} failed: {_describe(exc)}.") from exc


@asynccontextmanager
async def fetch(raw_url: str, options: FetchOptions) -> AsyncIterator[Fetched]:
    """Open `raw_url` (following redirects) and yield the final 2xx response, streaming.
    Raises `UrlRefused` (bad URL, forbidden address) or `FetchFailed` (anything else)."""
    url = parse_url(raw_url)
    for _hop in range(options.max_redirects + 1):
        async with AsyncExitStack() as hop:
            response = await _open(hop, url, options)
            if response.status_code in REDIRECT_STATUSES:
                url = _next_hop(url, response)
                continue
            if not 200 <= response.status_code < 300:
                raise FetchFailed(f"The media URL {origin(url)} answered HTTP {response.status_code}.")
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                raise FetchFailed(
                    f"The media URL {origin(url)} sent a {encoding!r}-encoded body although inboxd "
                    "asked for the plain bytes (Accept-Encoding: identity)."
                )
            yield Fetched(response, url, options.read_timeout)
            return
    raise FetchFailed(f"The media URL redirected more than {options.max_redirects} times.")


def _next_hop(url: httpx.URL, response: httpx.Response) -> httpx.URL:
    location = response.headers.get("location")
    if not location:
        raise FetchFailed(f"The media URL {origin(url)} answered HTTP {response.status_code} without a Location.")
    try:
        target = url.join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise UrlRefused(f"The media URL redirected to an invalid URL ({exc}).", code="invalid_media_url") from exc
    try:
        return parse_url(str(target))
    except UrlRefused as exc:
        raise UrlRefused(f"The media URL redirected to a URL inboxd does not fetch: {exc.reason}", code=exc.code) from exc


async def _open(hop: AsyncExitStack, url: httpx.URL, options: FetchOptions) -> httpx.Response:
    """Connect to the first reachable checked address of `url` and send the GET."""
    try:
        async with asyncio.timeout(options.connect_timeout):  # a name lookup is part of connecting
            addresses = await checked_addresses(url, options.policy, options.resolver)
    except TimeoutError as exc:  # before OSError, of which it is a subclass
        raise FetchFailed(f"Resolving the media URL's host {url.host!r} timed out ({options.connect_timeout} s).") from exc
    except OSError as exc:
        raise FetchFailed(f"The media URL's host {url.host!r} could not be resolved.") from exc
    failure: httpx.HTTPError | None = None
    for address in addresses[:MAX_ADDRESSES_TRIED]:
        try:
            return await _send(hop, url, address, options)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            failure = exc
        except httpx.TimeoutException as exc:
            raise FetchFailed(f"The media URL {origin(url)} did not answer within {options.read_timeout} s.") from exc
        except httpx.HTTPError as exc:
            raise FetchFailed(f"The request to the media URL {origin(url)} failed: {_describe(exc)}.") from exc
    assert failure is not None
    if isinstance(failure, httpx.ConnectTimeout):
        raise FetchFailed(f"Connecting to the media URL {origin(url)} timed out ({options.connect_timeout} s).")
    raise FetchFailed(f"Could not connect to the media URL {origin(url)}: {_describe(failure)}.")


async def _send(hop: AsyncExitStack, url: httpx.URL, address: IPAddress, options: FetchOptions) -> httpx.Response:
    client = await hop.enter_async_context(
        httpx.AsyncClient(
            verify=options.ssl_context or default_ssl_context(),
            trust_env=False,
            follow_redirects=False,
            timeout=options.timeout(),
        )
    )
    target, headers, extensions = pinned_request_args(url, address)
    headers |= {"Accept": "*/*", "Accept-Encoding": "identity", "User-Agent": USER_AGENT}
    request = client.build_request("GET", target, headers=headers, extensions=extensions)
    response = await client.send(request, stream=True)
    hop.push_async_callback(response.aclose)
    return response


def _describe(exc: BaseException) -> str:
    """A short cause without the URL (httpx messages can repeat it, query string included)."""
    cause: BaseException | None = exc
    while cause is not None:  # httpx wraps httpcore's error, which wraps the ssl module's
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error ({cause.reason or cause})"
        cause = cause.__cause__ or cause.__context__
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    return text if "://" not in text else type(exc).__name__
