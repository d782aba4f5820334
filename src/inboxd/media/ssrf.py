"""The SSRF guard for media URLs: which URLs and addresses inboxd may fetch for a client.

A media URL comes from an API client, and inboxd fetches it from inside the operator's
network. Without a guard a client could make inboxd read cloud metadata (169.254.169.254),
admin consoles on 127.0.0.1 or anything on the private network, and have it sent to WhatsApp.

The rule, applied to **every hop** of a redirect chain (`media.fetch` follows redirects itself):

- only `http` and `https` URLs;
- the host is resolved once, and **every** address it resolves to must be public unicast: no
  private, loopback, link-local, multicast, reserved, unspecified, shared (100.64/10) or
  documentation addresses, also when wrapped in IPv6 (IPv4-mapped `::ffff:a.b.c.d`, NAT64
  `64:ff9b::/96`, 6to4 `2002::/16`);
- the connection then goes to the address that was checked (the fetcher puts the IP in the
  URL and the name in `Host` and in TLS SNI), so DNS cannot answer differently a second time
  (DNS rebinding).

`INBOXD_MEDIA_ALLOW_PRIVATE_URLS=true` turns the address rule off (tests, trusted setups);
`AddressPolicy.allowed_networks` lets a caller trust a few networks while keeping the rest.
Numeric host spellings (`2130706433`, `0x7f.1`, `127.1`) need no special case: they go through
the resolver like names and are judged by the address they resolve to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

ALLOWED_SCHEMES = ("http", "https")
MAX_URL_LENGTH = 8192

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UrlRefused(Exception):
    """The URL is not one inboxd fetches. `reason` is a sentence for the API client; `code` is
    `invalid_media_url` (not a fetchable URL) or `media_url_refused` (a forbidden address)."""

    def __init__(self, reason: str, *, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def origin(url: httpx.URL) -> str:
    """`scheme://host[:port]`: how errors name a URL, leaving out the path and query (which can
    hold signed tokens) and any user:password."""
    port = f":{url.port}" if url.port is not None else ""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}{port}"


def parse_url(raw: str) -> httpx.URL:
    if not isinstance(raw, str) or not raw.strip():
        raise UrlRefused("The media URL is empty.", code="invalid_media_url")
    if len(raw) > MAX_URL_LENGTH:
        raise UrlRefused(f"The media URL is longer than {MAX_URL_LENGTH} characters.", code="invalid_media_url")
    try:
        url = httpx.URL(raw.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UrlRefused(f"The media URL is not a valid URL ({exc}).", code="invalid_media_url") from exc
    if url.scheme not in ALLOWED_SCHEMES:
        shown = f"{url.scheme!r}" if url.scheme else "none"
        raise UrlRefused(
            f"The media URL must be http or https (scheme: {shown}).", code="invalid_media_url"
        )
    if not url.host:
        raise UrlRefused("The media URL has no host.", code="invalid_media_url")
    return url


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and would reach, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_refusal(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address (a few words), or None when it is one."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            why = address_refusal(inner)
            # The wrapper ranges are themselves "reserved"; what matters is the inner address.
            return f"{why} (as {ip})" if why else None
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    )
    return next((why for failed, why in checks if failed), None)


@dataclass(frozen=True)
class AddressPolicy:
    allow_private: bool = False
    # Networks trusted in spite of the rule (e.g. one internal media server, or a test origin).
    allowed_networks: tuple[IPNetwork, ...] = ()

    def refusal(self, ip: IPAddress) -> str | None:
        if self.allow_private or any(ip in network for network in self.allowed_networks):
            return None
        return address_refusal(ip)


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0])
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def default_port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


async def checked_addresses(url: httpx.URL, policy: AddressPolicy, resolver: Resolver) -> list[IPAddress]:
    """The addresses to connect to for `url`, all of them allowed by `policy`; `UrlRefused`
    if any is not (a name that resolves to one public and one private address is refused:
    which one a connection would use is not ours to choose). `OSError` if the name does not
    resolve."""
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(url.host)]
    except ValueError:
        addresses = await resolver(url.raw_host.decode("ascii"), default_port(url))
    if not addresses:
        raise OSError(f"{url.host} has no addresses")
    for ip in addresses:
        why = policy.refusal(ip)
        if why:
            named = "" if str(ip) == url.host else f" resolves to {ip}, which is"
            raise UrlRefused(
                f"The media URL {origin(url)}{named or ' is'} {why}; inboxd fetches media only from "
                "public addresses (INBOXD_MEDIA_ALLOW_PRIVATE_URLS=true lifts this for tests).",
                code="media_url_refused",
            )
    return addresses


def pinned_request_args(url: httpx.URL, address: IPAddress) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """URL, headers and extensions that reach `address` while speaking to `url`'s host: the IP
    goes in the URL (so nothing resolves the name again), the name in `Host`, and for https in
    the `sni_hostname` extension, which httpcore uses for SNI and for certificate hostname
    verification."""
    target = url.copy_with(host=str(address))
    headers = {"Host": url.netloc.decode("ascii")}
    extensions: dict[str, str] = {}
    if url.scheme == "https" and str(address) != url.host:
        extensions["sni_hostname"] = url.raw_host.decode("ascii")
    return target, headers, extensions
