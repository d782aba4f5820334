"""Every endpoint: no token → 401, a token without its scopes → 403 naming them, a revoked
token → 401 (within a second of `tokens revoke`)."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from inboxd.api.app import API_PREFIX
from inboxd.domain.scopes import ALL_SCOPES, Scope
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from tests.support.server import LiveServer

ANY_ID = "0123456789abcdef01234567"


def scoped_operations(server: LiveServer) -> list[tuple[str, str, list[str]]]:
    schema = server.app.openapi()
    ops = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if "x-required-scopes" in op and op.get("security") != []:  # (`security: []`: public, e.g. auth/login)
                concrete = re.sub(r"\{[^}]+\}", ANY_ID, path)
                ops.append((method.upper(), concrete, op["x-required-scopes"]))
    return ops


async def test_every_api_operation_declares_scopes(server: LiveServer) -> None:
    schema = server.app.openapi()
    undeclared = [
        f"{m.upper()} {p}" for p, item in schema["paths"].items() for m, op in item.items()
        if p.startswith(API_PREFIX) and "x-required-scopes" not in op and p != f"{API_PREFIX}/openapi.json"
    ]
    assert undeclared == []
    assert scoped_operations(server)


async def test_no_token_and_bad_token_are_401(server: LiveServer, client: httpx.AsyncClient) -> None:
    for method, path, _ in scoped_operations(server):
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
            r = await client.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, headers, r.text)
            body = r.json()
            assert body["success"] is False and body["code"] == "unauthorized"
            assert r.headers["www-authenticate"].startswith("Bearer")


async def test_missing_scope_is_403_listing_the_missing_scopes(server: LiveServer, client, make_token) -> None:  # type: ignore[no-untyped-def]
    for method, path, required in scoped_operations(server):
        if not required:
            continue
        others = [s for s in ALL_SCOPES if s.value not in required]
        token = await make_token(*others)
        r = await client.request(method, path, headers={"Authorization": f"Bearer {token}"}, json={})
        assert r.status_code == 403, (method, path, r.text)
        body = r.json()
        assert body["code"] == "missing_scopes"
        assert sorted(d["scope"] for d in body["details"]) == sorted(required)


async def test_a_token_with_the_scopes_gets_through(server: LiveServer, client, make_token) -> None:  # type: ignore[no-untyped-def]
    token = await make_token(Scope.LIST_ALL_CHATS)
    r = await client.get(f"{API_PREFIX}/chats/search", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


async def test_revoked_token_stops_working_within_a_second(server: LiveServer, client, db: Database) -> None:  # type: ignore[no-untyped-def]
    async with db.write() as conn:
        secret, record = await tokens_store.create_token(conn, "soon revoked", list(ALL_SCOPES))
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await client.get(f"{API_PREFIX}/chats/search", headers=headers)).status_code == 200
    async with db.write() as conn:
        assert await tokens_store.revoke_token(conn, record.id)
    await asyncio.sleep(1.0)
    r = await client.get(f"{API_PREFIX}/chats/search", headers=headers)
    assert r.status_code == 401
    for method, path, _ in scoped_operations(server):  # every endpoint, not only the one cached
        r = await client.request(method, path, headers=headers, json={})
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["code"] == "unauthorized"


@pytest.mark.parametrize("path", ["/healthz", "/server/api/v2/openapi.json"])
async def test_public_endpoints(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200


async def test_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/server/api/v2/nothing-here")
    assert r.status_code == 404
    assert r.json()["success"] is False and r.json()["code"] == "not_found"
