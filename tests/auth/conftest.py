"""Sign-in tests: inboxd over loopback, agents made through the API with an admin token, and
browser-like clients (a cookie jar per client) that sign in with email and password."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from inboxd.domain.scopes import ALL_SCOPES
from tests.chats.conftest import events_settings, live, receiver, rig  # noqa: F401  (the simulator rig)
from tests.support.server import LiveServer

API = "/server/api/v2"
PASSWORD = "correct horse battery"


@pytest.fixture
async def admin(server: LiveServer, make_token) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """An integration's client: an API token with every scope."""
    token = await make_token(*ALL_SCOPES, name="admin")
    async with httpx.AsyncClient(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as http:
        yield http


async def make_agent(admin: httpx.AsyncClient, email: str, *, password: str = PASSWORD, **more: Any) -> dict[str, Any]:
    r = await admin.post(f"{API}/agents", json={"email": email, "displayName": email.split("@")[0].title(),
                                                "password": password, **more})
    assert r.status_code == 201, r.text
    return r.json()


class Browser:
    """A signed-in browser: the cookie jar holds the session; `csrf` is the token its pages send."""

    def __init__(self, http: httpx.AsyncClient, login: httpx.Response) -> None:
        self.http = http
        self.login = login
        self.csrf: str = login.json()["csrfToken"]

    @property
    def cookie(self) -> str:
        return self.http.cookies["inboxd_session"]

    async def unsafe(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A POST/PUT/PATCH/DELETE as the web inbox sends it (with the CSRF header)."""
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kw)


async def sign_in(url: str, email: str, password: str = PASSWORD) -> Browser:
    http = httpx.AsyncClient(base_url=url, timeout=30)
    r = await http.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return Browser(http, r)


@pytest.fixture
async def login(server: LiveServer) -> AsyncIterator[Any]:
    """`await login(email[, password][, url=...])`: a signed-in Browser, closed at the end."""
    opened: list[Browser] = []

    async def open_(email: str, password: str = PASSWORD, *, url: str | None = None) -> Browser:
        browser = await sign_in(url or server.url, email, password)
        opened.append(browser)
        return browser

    yield open_
    for browser in opened:
        await browser.http.aclose()
