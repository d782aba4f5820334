"""Signing in, out, and what a session may do (docs/sign-in.md): over real HTTP, on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import time

import httpx
import sqlalchemy as sa

from inboxd.config import Settings
from inboxd.domain.scopes import ALL_SCOPES
from inboxd.store.db import Database
from inboxd.store.tables import agent_sessions
from tests.auth.conftest import API, PASSWORD, make_agent, sign_in
from tests.support.server import LiveServer, start_server

AGENT_SCOPES = ["List all chats", "Manage all chats", "Send session message", "Send template messages",
                "View all chats", "View all files", "View quick replies", "View template messages"]


def cookie_attributes(response: httpx.Response) -> tuple[str, set[str]]:
    (header,) = response.headers.get_list("set-cookie")
    first, *attributes = [part.strip() for part in header.split(";")]
    return first, {a.split("=")[0].lower() if a.lower().startswith("max-age") else a.lower() for a in attributes}


async def test_sign_in_answers_the_agent_and_sets_an_http_only_session_cookie(
    server: LiveServer, admin: httpx.AsyncClient, login, db: Database  # type: ignore[no-untyped-def]
) -> None:
    agent = await make_agent(admin, "Tyler@Example.com", roles=["agent"])
    browser = await login("tyler@example.com")  # any case
    body = browser.login.json()
    assert body["success"] is True and body["agent"] == (await admin.get(f"{API}/agents/{agent['uid']}")).json()
    assert isinstance(body["csrfToken"], str) and len(body["csrfToken"]) >= 32
    first, attributes = cookie_attributes(browser.login)
    name, _, secret = first.partition("=")
    assert name == "inboxd_session" and len(secret) >= 43
    assert attributes == {"httponly", "samesite=lax", "path=/", "max-age"}  # no Secure over http
    assert "max-age=43200" in browser.login.headers["set-cookie"].lower()  # INBOXD_SESSION_HOURS: 12

    # Stored as its SHA-256 only.
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(agent_sessions))).mappings().all()
    assert len(rows) == 1 and rows[0]["agent_uid"] == agent["uid"]
    assert rows[0]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(dict(rows[0])) and body["csrfToken"] not in str(dict(rows[0]))
    assert rows[0]["expires_at"] - rows[0]["created_at"] == 12 * 3600 * 1000

    me = await browser.http.get(f"{API}/auth/me")
    assert me.status_code == 200, me.text
    assert me.json() == {"success": True, "agent": body["agent"], "csrfToken": body["csrfToken"],
                         "scopes": AGENT_SCOPES}
    assert me.headers["cache-control"] == "no-store"


async def test_the_cookie_is_secure_when_the_public_url_is_https(settings: Settings, db: Database, make_token) -> None:  # type: ignore[no-untyped-def]
    https = settings.model_copy(update={"public_url": "https://inbox.example.com", "session_hours": 2})
    async with start_server(https, db) as live:
        token = await make_token(*ALL_SCOPES)
        async with httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {token}"}) as admin:
            await make_agent(admin, "noa@example.com")
        async with httpx.AsyncClient(base_url=live.url) as http:
            r = await http.post(f"{API}/auth/login", json={"email": "noa@example.com", "password": PASSWORD})
            assert r.status_code == 200, r.text
            _, attributes = cookie_attributes(r)
            assert attributes == {"httponly", "samesite=lax", "path=/", "max-age", "secure"}
            assert "max-age=7200" in r.headers["set-cookie"].lower()


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    server: LiveServer, admin: httpx.AsyncClient
) -> None:
    await make_agent(admin, "noa@example.com")
    answers = []
    async with httpx.AsyncClient(base_url=server.url) as http:
        for email, password in (("noa@example.com", "wrong horse battery"), ("nobody@example.com", PASSWORD),
                                ("NOA@example.com", "")):
            r = await http.post(f"{API}/auth/login", json={"email": email, "password": password or "x"})
            assert r.status_code == 401, r.text
            assert "set-cookie" not in r.headers and "www-authenticate" not in r.headers
            body = r.json()
            body.pop("requestId")
            answers.append(body)
        assert answers[0] == {"success": False, "error": "Wrong email or password.", "code": "wrong_credentials",
                              "details": []}
        assert answers[1] == answers[0] == answers[2]
        r = await http.post(f"{API}/auth/login", json={"email": "noa@example.com"})
        assert r.status_code == 400 and r.json()["details"][0]["path"] == "body.password"
        assert (await http.get(f"{API}/auth/me")).status_code == 401


async def test_an_agent_without_a_password_or_deactivated_cannot_sign_in(
    server: LiveServer, admin: httpx.AsyncClient
) -> None:
    r = await admin.post(f"{API}/agents", json={"email": "dan@example.com", "displayName": "Dan"})
    assert r.status_code == 201
    gone = await make_agent(admin, "gone@example.com")
    assert (await admin.patch(f"{API}/agents/{gone['uid']}", json={"active": False})).status_code == 200
    async with httpx.AsyncClient(base_url=server.url) as http:
        for email in ("dan@example.com", "gone@example.com"):
            r = await http.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
            assert r.status_code == 401 and r.json()["code"] == "wrong_credentials"


async def test_logout_ends_the_session_everywhere_and_clears_the_cookie(
    server: LiveServer, admin: httpx.AsyncClient, login, db: Database  # type: ignore[no-untyped-def]
) -> None:
    await make_agent(admin, "noa@example.com")
    browser = await login("noa@example.com")
    other = await login("noa@example.com")  # a second tab's sign-in: its own session
    secret = browser.cookie
    refused = await browser.http.post(f"{API}/auth/logout")  # no CSRF token
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    r = await browser.unsafe("POST", f"{API}/auth/logout")
    assert r.status_code == 200 and r.json() == {"success": True}
    first, attributes = cookie_attributes(r)
    assert first == "inboxd_session=" and "max-age=0" in r.headers["set-cookie"].lower() and "httponly" in attributes
    async with db.read() as conn:
        revoked = (await conn.execute(sa.select(agent_sessions.c.revoked_at).where(
            agent_sessions.c.secret_hash == hashlib.sha256(secret.encode()).hexdigest()))).scalar_one()
    assert revoked is not None
    # The old cookie, replayed (a copy of it, another tab): refused at once in this process.
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.get(f"{API}/auth/me", headers={"Cookie": f"inboxd_session={secret}"})
        assert r.status_code == 401 and r.json()["code"] == "session_ended"
    assert (await other.http.get(f"{API}/auth/me")).status_code == 200  # the other session lives on


async def test_any_process_accepts_a_session_and_sees_its_logout_within_the_cache_ttl(
    server: LiveServer, settings: Settings, db_target, admin: httpx.AsyncClient, login  # type: ignore[no-untyped-def]
) -> None:
    await make_agent(admin, "noa@example.com")
    browser = await login("noa@example.com")
    # A second server with its own database connections and caches: another process, as far as
    # sessions go.
    other_db = Database(db_target.url, schema=db_target.schema)
    async with start_server(settings, other_db) as other, httpx.AsyncClient(base_url=other.url) as http:
        cookie = {"Cookie": f"inboxd_session={browser.cookie}"}
        assert (await http.get(f"{API}/auth/me", headers=cookie)).status_code == 200
        assert (await browser.unsafe("POST", f"{API}/auth/logout")).status_code == 200
        await asyncio.sleep(0.6)  # the session cache's TTL (0.5 s)
        assert (await http.get(f"{API}/auth/me", headers=cookie)).status_code == 401


async def test_a_session_expires_after_the_configured_hours(settings: Settings, db: Database, make_token) -> None:  # type: ignore[no-untyped-def]
    async with start_server(settings.model_copy(update={"session_hours": 1.5 / 3600}), db) as live:
        token = await make_token(*ALL_SCOPES)
        async with httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {token}"}) as admin:
            await make_agent(admin, "noa@example.com")
        browser = await sign_in(live.url, "noa@example.com")
        try:
            assert "max-age=1" in browser.login.headers["set-cookie"].lower()
            cookie = {"Cookie": f"inboxd_session={browser.cookie}"}
            async with httpx.AsyncClient(base_url=live.url) as http:
                assert (await http.get(f"{API}/auth/me", headers=cookie)).status_code == 200
                await asyncio.sleep(1.6)
                r = await http.get(f"{API}/auth/me", headers=cookie)
                assert r.status_code == 401 and r.json()["code"] == "session_ended"
        finally:
            await browser.http.aclose()


async def test_a_deactivated_agents_sessions_stop_working_at_once(
    server: LiveServer, admin: httpx.AsyncClient, login  # type: ignore[no-untyped-def]
) -> None:
    agent = await make_agent(admin, "noa@example.com")
    browser = await login("noa@example.com")
    assert (await browser.http.get(f"{API}/chats/search")).status_code == 200
    assert (await admin.patch(f"{API}/agents/{agent['uid']}", json={"active": False})).status_code == 200
    deadline = time.monotonic() + 0.6  # the session cache's TTL, and no more
    while (status := (await browser.http.get(f"{API}/chats/search")).status_code) == 200:
        assert time.monotonic() < deadline, "the deactivated agent's session still works"
        await asyncio.sleep(0.05)
    assert status == 401
    # Reactivated, the same session works again: it never ended, the agent was only inactive.
    assert (await admin.patch(f"{API}/agents/{agent['uid']}", json={"active": True})).status_code == 200
    await asyncio.sleep(0.6)
    assert (await browser.http.get(f"{API}/chats/search")).status_code == 200


async def test_a_new_password_ends_the_agents_sessions(
    server: LiveServer, admin: httpx.AsyncClient, login  # type: ignore[no-untyped-def]
) -> None:
    agent = await make_agent(admin, "ori@example.com")
    await make_agent(admin, "gil@example.com")
    first, second, bystander = await login("ori@example.com"), await login("ori@example.com"), await login("gil@example.com")
    assert (await admin.patch(f"{API}/agents/{agent['uid']}", json={"displayName": "Ori"})).status_code == 200
    await asyncio.sleep(0.6)  # another change keeps the sessions
    assert (await first.http.get(f"{API}/auth/me")).status_code == 200
    r = await admin.patch(f"{API}/agents/{agent['uid']}", json={"password": "a brand new passphrase"})
    assert r.status_code == 200
    await asyncio.sleep(0.6)  # the session cache's TTL
    for browser in (first, second):
        r = await browser.http.get(f"{API}/auth/me")
        assert r.status_code == 401 and r.json()["code"] == "session_ended"
    assert (await bystander.http.get(f"{API}/auth/me")).status_code == 200  # another agent's is kept
    fresh = await login("ori@example.com", "a brand new passphrase")
    assert (await fresh.http.get(f"{API}/auth/me")).json()["agent"]["uid"] == agent["uid"]


async def test_unsafe_methods_with_a_session_need_the_csrf_token(
    server: LiveServer, admin: httpx.AsyncClient, login  # type: ignore[no-untyped-def]
) -> None:
    await make_agent(admin, "noa@example.com")
    browser = await login("noa@example.com")
    path = f"{API}/auth/me/presence"
    for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": browser.csrf[:-1]}):
        r = await browser.http.put(path, json={"presence": "away"}, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["code"] == "csrf_failed" and r.json()["details"][0]["path"] == "header.X-CSRF-Token"
    assert (await admin.get(f"{API}/agents")).json()["agents"][0]["presence"] == "offline"  # nothing done
    r = await browser.unsafe("PUT", path, json={"presence": "away"})
    assert r.status_code == 200 and r.json()["presence"] == "away"
    # Safe methods need none; API tokens never do.
    assert (await browser.http.get(f"{API}/chats/search")).status_code == 200
    assert (await admin.post(f"{API}/departments", json={"id": "sales", "name": "Sales"})).status_code == 201
    # A session's CSRF token is its own: another session's does not do.
    other = await login("noa@example.com")
    r = await browser.http.put(path, json={"presence": "online"}, headers={"X-CSRF-Token": other.csrf})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"


async def test_an_agents_role_gives_the_agent_scopes_and_an_admins_every_scope(
    server: LiveServer, admin: httpx.AsyncClient, login  # type: ignore[no-untyped-def]
) -> None:
    await make_agent(admin, "noa@example.com", roles=["agent"])
    await make_agent(admin, "boss@example.com", roles=["admin"])
    agent = await login("noa@example.com")
    boss = await login("boss@example.com")
    new_agent = {"email": "new@example.com", "displayName": "New"}
    r = await agent.unsafe("POST", f"{API}/agents", json=new_agent)
    assert r.status_code == 403 and r.json()["code"] == "missing_scopes"
    assert r.json()["details"] == [{"scope": "Manage agents", "reason": "missing scope"}]
    assert r.json()["error"].startswith("The signed-in agent's role does not allow this")
    for path in ("/agents", "/departments", "/scenarios/manage"):
        assert (await agent.http.get(f"{API}{path}")).status_code == 403, path
    for path in ("/chats/search", "/labels", "/quick-replies", "/live/snapshot"):
        assert (await agent.http.get(f"{API}{path}")).status_code == 200, path
    r = await boss.unsafe("POST", f"{API}/agents", json=new_agent)
    assert r.status_code == 201, r.text
    me = (await boss.http.get(f"{API}/auth/me")).json()
    assert me["scopes"] == sorted(s.value for s in ALL_SCOPES)
    assert (await agent.http.get(f"{API}/auth/me")).json()["scopes"] == AGENT_SCOPES


async def test_a_bearer_token_wins_over_a_session_cookie(
    server: LiveServer, admin: httpx.AsyncClient, login, make_token  # type: ignore[no-untyped-def]
) -> None:
    await make_agent(admin, "noa@example.com")
    agent = await login("noa@example.com")
    token = await make_token(*ALL_SCOPES)
    # The agent's cookie may not list agents; with an admin token beside it, the token decides.
    r = await agent.http.get(f"{API}/agents", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    r = await agent.http.get(f"{API}/chats/search", headers={"Authorization": "Bearer revoked-or-wrong"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    # auth/me is a session's: a token is not one.
    r = await agent.http.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["code"] == "session_required"
