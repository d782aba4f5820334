"""API tokens over HTTP (scope Manage API tokens): list without secrets, create (the secret once,
only scopes the caller holds), revoke — the same operations as `inboxd tokens`."""

from __future__ import annotations

import asyncio
import hashlib
import json

import httpx
import sqlalchemy as sa

from inboxd.domain.scopes import ALL_SCOPES, Scope
from inboxd.store.db import Database
from inboxd.store.tables import api_tokens
from tests.support.server import LiveServer

API = "/server/api/v2"


async def test_create_list_and_revoke_a_token(server: LiveServer, client: httpx.AsyncClient, make_token, db: Database) -> None:  # type: ignore[no-untyped-def]
    manager = {"Authorization": f"Bearer {await make_token(*ALL_SCOPES, name='settings')}"}
    r = await client.post(f"{API}/tokens", headers=manager,
                          json={"name": "CRM sync", "scopes": ["list-all-chats", "Send session message"], "rate": 5})
    assert r.status_code == 201, r.text
    body = r.json()
    secret, token = body["secret"], body["token"]
    assert body["success"] is True and secret.startswith("inboxd_") and len(secret) == 50
    assert token["name"] == "CRM sync" and token["scopes"] == ["List all chats", "Send session message"]
    assert token["revoked"] is None and token["lastUsed"] is None and token["rateLimit"] == {"perSecond": 5.0, "burst": 10}
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(api_tokens.c.token_hash).where(api_tokens.c.id == token["id"]))).scalar_one()
    assert stored == hashlib.sha256(secret.encode()).hexdigest()

    # The new token works, with its scopes only.
    new = {"Authorization": f"Bearer {secret}"}
    assert (await client.get(f"{API}/chats/search", headers=new)).status_code == 200
    assert (await client.get(f"{API}/tokens", headers=new)).status_code == 403

    listed = (await client.get(f"{API}/tokens", headers=manager)).json()
    assert listed["success"] is True and listed["total"] == 2
    assert [t["name"] for t in listed["tokens"]] == ["settings", "CRM sync"]
    assert secret not in json.dumps(listed) and "hash" not in json.dumps(listed)
    assert set(listed["tokens"][1]) == {"id", "name", "scopes", "created", "lastUsed", "revoked", "rateLimit"}

    r = await client.delete(f"{API}/tokens/{token['id']}", headers=manager)
    assert r.status_code == 200 and r.json() == {"success": True}
    await asyncio.sleep(0.6)  # the token cache's TTL
    assert (await client.get(f"{API}/chats/search", headers=new)).status_code == 401
    again = await client.delete(f"{API}/tokens/{token['id']}", headers=manager)
    assert again.status_code == 404 and again.json()["code"] == "token_not_found"
    listed = (await client.get(f"{API}/tokens", headers=manager)).json()
    assert listed["tokens"][1]["revoked"] is not None


async def test_a_token_only_grants_scopes_its_creator_holds(client: httpx.AsyncClient, make_token) -> None:  # type: ignore[no-untyped-def]
    limited = {"Authorization": f"Bearer {await make_token(Scope.MANAGE_API_TOKENS, Scope.LIST_ALL_CHATS)}"}
    r = await client.post(f"{API}/tokens", headers=limited, json={"name": "x", "scopes": ["List all chats", "Manage agents"]})
    assert r.status_code == 403 and r.json()["code"] == "scope_not_held"
    assert r.json()["details"] == [{"scope": "Manage agents", "reason": "not held by the caller"}]
    r = await client.post(f"{API}/tokens", headers=limited, json={"name": "x", "scopes": ["List all chats"]})
    assert r.status_code == 201


async def test_bad_token_bodies_are_400_with_every_problem(client: httpx.AsyncClient, make_token) -> None:  # type: ignore[no-untyped-def]
    manager = {"Authorization": f"Bearer {await make_token(*ALL_SCOPES)}"}
    r = await client.post(f"{API}/tokens", headers=manager,
                          json={"name": "", "scopes": ["nope", 3], "rate": -1, "burst": 1.5, "extra": True})
    assert r.status_code == 400
    paths = {d["path"] for d in r.json()["details"]}
    assert paths == {"body.extra", "body.name", "body.scopes[0]", "body.scopes[1]", "body.rate", "body.burst"}
    r = await client.post(f"{API}/tokens", headers=manager, json={"name": "x", "scopes": []})
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "body.scopes"
    async with httpx.AsyncClient(base_url=str(client.base_url)) as anonymous:
        assert (await anonymous.get(f"{API}/tokens")).status_code == 401
