"""The address rule and the URL rule of the SSRF guard, without a network."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from inboxd.media.ssrf import (
    AddressPolicy,
    UrlRefused,
    address_refusal,
    checked_addresses,
    parse_url,
    pinned_request_args,
)

REFUSED = [
    "127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1",
    "192.0.2.10", "198.18.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
    "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
    "2002:7f00:1::1", "2002:a9fe:a9fe::1", "64:ff9b::a00:1", "64:ff9b::7f00:1", "::127.0.0.1",
]
ALLOWED = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_policy_switches() -> None:
    loopback = ipaddress.ip_address("127.0.0.1")
    assert AddressPolicy().refusal(loopback) == "a loopback address"
    assert AddressPolicy(allow_private=True).refusal(loopback) is None
    trusted = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))
    assert trusted.refusal(loopback) is None
    assert trusted.refusal(ipaddress.ip_address("127.0.0.2")) is not None


@pytest.mark.parametrize(
    "url",
    ["", "   ", "ftp://example.com/a.png", "file:///etc/passwd", "javascript:alert(1)", "gopher://x/",
     "http://", "example.com/a.png", "http://[::1", "https://" + "a" * 9000 + ".com/"],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(UrlRefused) as caught:
        parse_url(url)
    assert caught.value.code == "invalid_media_url"


def _resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        calls.append(host)
        if host not in table:
            raise OSError("no such host")
        return [ipaddress.ip_address(a) for a in table[host]]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


async def test_every_resolved_address_must_be_public() -> None:
    resolve = _resolver({"mixed.example": ["93.184.216.34", "10.0.0.1"], "ok.example": ["93.184.216.34"]})
    with pytest.raises(UrlRefused) as caught:
        await checked_addresses(parse_url("https://mixed.example/a"), AddressPolicy(), resolve)
    assert caught.value.code == "media_url_refused" and "10.0.0.1" in caught.value.reason
    assert await checked_addresses(parse_url("https://ok.example/a"), AddressPolicy(), resolve) == [
        ipaddress.ip_address("93.184.216.34")
    ]


async def test_ip_literals_are_checked_without_dns() -> None:
    resolve = _resolver({})
    for url in ("http://127.0.0.1/", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/"):
        with pytest.raises(UrlRefused):
            await checked_addresses(parse_url(url), AddressPolicy(), resolve)
    assert resolve.calls == []  # type: ignore[attr-defined]


async def test_numeric_spellings_are_judged_by_what_they_resolve_to() -> None:
    # The real resolver (inet_aton rules): decimal, short and hex forms of 127.0.0.1.
    from inboxd.media.ssrf import system_resolver

    for url in ("http://2130706433/", "http://127.1/", "http://0x7f.1/", "http://017700000001/"):
        with pytest.raises(UrlRefused) as caught:
            await checked_addresses(parse_url(url), AddressPolicy(), system_resolver)
        assert "loopback" in caught.value.reason


def test_pinned_request_goes_to_the_ip_and_keeps_the_name() -> None:
    url = parse_url("https://media.example:8443/a.png?sig=1")
    target, headers, extensions = pinned_request_args(url, ipaddress.ip_address("93.184.216.34"))
    assert target.host == "93.184.216.34" and target.port == 8443 and target.query == b"sig=1"
    assert headers == {"Host": "media.example:8443"}
    assert extensions == {"sni_hostname": "media.example"}
    plain = pinned_request_args(parse_url("http://media.example/a"), ipaddress.ip_address("93.184.216.34"))
    assert plain[1] == {"Host": "media.example"} and plain[2] == {}
    idn = pinned_request_args(parse_url("https://b\u00fccher.example/"), ipaddress.ip_address("93.184.216.34"))
    assert idn[1] == {"Host": "xn--bcher-kva.example"} and idn[2] == {"sni_hostname": "xn--bcher-kva.example"}
    v6 = pinned_request_args(url, ipaddress.ip_address("2606:4700::1"))
    assert str(v6[0]).startswith("https://[2606:4700::1]:8443/")


def test_httpx_accepts_the_pinned_request() -> None:
    url = parse_url("https://media.example/a")
    target, headers, extensions = pinned_request_args(url, ipaddress.ip_address("93.184.216.34"))
    request = httpx.Request("GET", target, headers=headers, extensions=extensions)
    assert request.headers["host"] == "media.example"
    assert request.extensions["sni_hostname"] == "media.example"
