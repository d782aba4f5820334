"""The HTTP client that delivers events, with the address rule of `media.ssrf` applied to every
connection it opens.

A subscription URL comes from an API client, and inboxd calls it from inside the operator's
network: unguarded, a token holding "Create scenarios" could point inboxd at cloud metadata or
an admin port and learn from the runs what answers there. So unless
`INBOXD_EVENTS_ALLOW_PRIVATE_URLS=true`, every address the receiver's name resolves to must be
public. The check sits in the connection pool's network backend: it judges the very address the
socket connects to (no second DNS answer can slip past it), while the pool keys connections and
verifies TLS by the URL's host name as usual. Redirects are not followed and proxy settings
from the environment are ignored (a proxy would resolve the name itself).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from inboxd import __version__
from inboxd.media.fetch import default_ssl_context
from inboxd.media.ssrf import AddressPolicy, IPAddress, Resolver, system_resolver

USER_AGENT = f"inboxd/{__version__} (event delivery)"
# A name with many addresses: try a few, so one unreachable address does not fail the delivery
# but one URL cannot cost many connect timeouts.
MAX_ADDRESSES_TRIED = 3
# Connecting takes at most this long (within the whole request's time limit).
CONNECT_TIMEOUT_SECONDS = 5.0


class AddressRefused(Exception):
    """The receiver's address is not one inboxd may call (a permanent failure of the delivery)."""


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: AddressPolicy, resolver: Resolver) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = httpcore.AnyIOBackend()

    async def _addresses(self, host: str, port: int) -> list[IPAddress]:
        try:
            addresses: list[IPAddress] = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            try:
                addresses = await self.resolver(host, port)
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        for ip in addresses:
            why = self.policy.refusal(ip)
            if why:
                named = f"{host} resolves to {ip}, which is" if str(ip) != host.strip("[]") else f"{ip} is"
                raise AddressRefused(
                    f"{named} {why}; inboxd delivers events only to public addresses "
                    "(INBOXD_EVENTS_ALLOW_PRIVATE_URLS=true lifts this)"
                )
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no addresses")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last: Exception | None = None
        for ip in (await self._addresses(host, port))[:MAX_ADDRESSES_TRIED]:
            try:
                return await self.inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("unix sockets are not event receivers")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: AddressPolicy, resolver: Resolver, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        # httpx has no parameter for the network backend: replace its pool with one using ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=default_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(policy, resolver),
        )


def new_event_client(
    *, timeout: float, allow_private: bool, resolver: Resolver = system_resolver
) -> httpx.AsyncClient:
    policy = AddressPolicy(allow_private=allow_private)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)
    return httpx.AsyncClient(
        transport=_GuardedTransport(policy, resolver, limits),
        timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS)),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


def literal_address_refusal(url: str, *, allow_private: bool) -> str | None:
    """Why a subscription URL is refused at import already: its host is an IP address (or
    `localhost`) that the address rule forbids. Names are judged when connecting."""
    if allow_private:
        return None
    host = httpx.URL(url).host
    if host == "localhost" or host.endswith(".localhost"):
        return "localhost is a loopback address; inboxd delivers events only to public addresses " \
               "(INBOXD_EVENTS_ALLOW_PRIVATE_URLS=true lifts this)"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    why = AddressPolicy().refusal(ip)
    if why:
        return f"{ip} is {why}; inboxd delivers events only to public addresses (INBOXD_EVENTS_ALLOW_PRIVATE_URLS=true lifts this)"
    return None
