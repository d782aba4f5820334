"""Managing subscriptions: list, activate, inactivate, delete, runs; their scopes; drafts and
inactive scenarios never fire; the signing secret is shown once and never logged."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import pytest
from starlette.responses import Response

from inboxd.domain.scopes import Scope
from inboxd.store.db import Database
from tests.conftest import WhatsAppAccountSpec
from tests.events.conftest import API, Receiver, runs, subscribe, template, token
from tests.support.seed import chat_with_messages
from tests.support.server import LiveServer

MANAGE = f"{API}/scenarios/manage"
ON_BEHALF = Scope.MANAGE_SCENARIOS_ON_BEHALF_OF_USER


@pytest.fixture
async def chat(db: Database, wa_account: WhatsAppAccountSpec) -> str:
    return await chat_with_messages(db, wa_account.account, "972500000101", title="Gal", texts=[(1_700_000_000_000, "hi")])


async def pending(live: LiveServer, db: Database, chat_id: str) -> None:
    """Raise `domain.chat.pending` for the chat, as the chat status feature will."""
    assert live.services is not None
    async with db.write() as conn:
        await live.services.events.publish(conn, "domain.chat.pending", chat_id=chat_id)


async def test_an_inactive_subscription_fires_only_while_active(
    api: httpx.AsyncClient, receiver: Receiver, live: LiveServer, db: Database, chat: str
) -> None:
    r = await api.post(f"{MANAGE}/import", json=template("chat-pending", receiver.url, as_status="inactive"))
    assert r.status_code == 201
    scenario = r.json()
    assert "activeRevision" not in scenario
    [revision] = scenario["inactiveRevisions"]
    assert revision["status"] == "inactive" and revision["version"] == 1 and revision["metadata"]["activations"] == []
    await pending(live, db, chat)
    await receiver.settle(0.3)
    assert receiver.seen == []

    r = await api.post(f"{MANAGE}/{scenario['_id']}/activate", json={"userUid": "ops-1"})
    assert r.status_code == 200, r.text
    active = r.json()
    assert active["activeRevision"]["status"] == "active" and active["inactiveRevisions"] == []
    [activation] = active["activeRevision"]["metadata"]["activations"]
    assert activation["userUid"] == "ops-1" and isinstance(activation["timestamp"], int)
    assert "signingSecret" not in active
    await pending(live, db, chat)
    await receiver.wait_for(1)

    r = await api.post(f"{MANAGE}/{scenario['_id']}/inactivate")
    assert r.status_code == 200
    assert "activeRevision" not in r.json() and r.json()["inactiveRevisions"][0]["status"] == "inactive"
    await pending(live, db, chat)
    await receiver.settle(0.3)
    assert len(receiver.seen) == 1

    r = await api.post(f"{MANAGE}/{scenario['_id']}/activate")  # an empty body is fine
    assert r.status_code == 200
    assert len(r.json()["activeRevision"]["metadata"]["activations"]) == 2
    again = await api.post(f"{MANAGE}/{scenario['_id']}/activate")  # already active: no change
    assert len(again.json()["activeRevision"]["metadata"]["activations"]) == 2
    await pending(live, db, chat)
    await receiver.wait_for(2)


async def test_a_draft_never_fires_and_cannot_be_activated(
    api: httpx.AsyncClient, receiver: Receiver, live: LiveServer, db: Database, chat: str
) -> None:
    r = await api.post(f"{MANAGE}/import", json=template("chat-pending", receiver.url, as_status="draft"))
    assert r.status_code == 201
    scenario = r.json()
    assert "activeRevision" not in scenario and scenario["inactiveRevisions"] == []
    [draft] = scenario["drafts"]
    assert draft["name"] == "(SUB) Chat Pending" and "status" not in draft and "version" not in draft
    await pending(live, db, chat)
    await receiver.settle(0.3)
    assert receiver.seen == []
    r = await api.post(f"{MANAGE}/{scenario['_id']}/activate")
    assert r.status_code == 422 and r.json()["code"] == "scenario_has_no_revision"


async def test_list_delete_and_unknown_ids(api: httpx.AsyncClient, receiver: Receiver) -> None:
    first = await subscribe(api, "chat-pending", receiver.url)
    second = await subscribe(api, "chat-resolved", receiver.url)
    listed = (await api.get(MANAGE)).json()
    assert listed["total"] == 2 and [s["_id"] for s in listed["scenarios"]] == [first["_id"], second["_id"]]
    page = (await api.get(MANAGE, params={"limit": 1, "skip": 1, "includeSystem": "true"})).json()
    assert page["total"] == 2 and [s["_id"] for s in page["scenarios"]] == [second["_id"]]

    r = await api.delete(f"{MANAGE}/{first['_id']}")
    assert r.status_code == 200 and r.json() == {"success": True, "_id": first["_id"]}
    assert (await api.get(MANAGE)).json()["total"] == 1
    for method, path in [
        ("DELETE", f"{MANAGE}/{first['_id']}"),
        ("POST", f"{MANAGE}/{first['_id']}/activate"),
        ("POST", f"{MANAGE}/{first['_id']}/inactivate"),
        ("GET", f"{MANAGE}/{first['_id']}/runs"),
        ("POST", f"{MANAGE}/not-an-id/activate"),
    ]:
        r = await api.request(method, path)
        assert r.status_code == 404 and r.json()["code"] == "scenario_not_found", (method, path, r.text)

    r = await api.post(f"{MANAGE}/{second['_id']}/activate", json={"version": 7})
    assert r.status_code == 404 and r.json()["code"] == "revision_not_found"
    for body in ({"version": "1"}, {"version": 0}, {"userUid": ""}, {"other": 1}, [1]):
        r = await api.post(f"{MANAGE}/{second['_id']}/activate", json=body)
        assert r.status_code == 400, body
    r = await api.post(f"{MANAGE}/{second['_id']}/activate", json={"version": 0, "userUid": "", "other": 1})
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"
    assert [d["path"] for d in r.json()["details"]] == ["body.version", "body.userUid", "body.other"]
    assert "(and 2 more problems, see details)" in r.json()["error"]
    r = await api.get(f"{MANAGE}/{second['_id']}/runs", params={"status": "lost"})
    assert r.status_code == 400


ENDPOINTS: list[tuple[str, str, tuple[Scope, ...]]] = [
    ("POST", "/import", (Scope.CREATE_SCENARIOS, ON_BEHALF)),
    ("GET", "", (Scope.VIEW_SCENARIOS, ON_BEHALF)),
    ("POST", "/{id}/activate", (Scope.ACTIVATE_INACTIVATE_SCENARIOS, ON_BEHALF)),
    ("POST", "/{id}/inactivate", (Scope.ACTIVATE_INACTIVATE_SCENARIOS, ON_BEHALF)),
    ("GET", "/{id}/runs", (Scope.VIEW_SCENARIOS_RUNS,)),
    ("DELETE", "/{id}", (Scope.DELETE_SCENARIOS, ON_BEHALF)),  # last: it deletes the scenario
]


async def test_each_endpoint_demands_the_scopes_the_reference_names(
    live: LiveServer, db: Database, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    scenario = await subscribe(api, "chat-pending", receiver.url)
    body = template("chat-pending", receiver.url)
    async with httpx.AsyncClient(base_url=live.url) as http:
        for method, path, scopes in ENDPOINTS:
            url = MANAGE + path.replace("{id}", scenario["_id"])
            kwargs: dict[str, Any] = {"json": body} if path == "/import" else {}
            assert (await http.request(method, url, **kwargs)).status_code == 401
            for missing in scopes:
                held = [s for s in Scope if s != missing]
                secret = await token(db, *held)
                r = await http.request(method, url, headers={"Authorization": f"Bearer {secret}"}, **kwargs)
                assert r.status_code == 403, (method, path, missing)
                assert r.json()["details"] == [{"scope": missing.value, "reason": "missing scope"}]
            secret = await token(db, *scopes)
            r = await http.request(method, url, headers={"Authorization": f"Bearer {secret}"}, **kwargs)
            assert r.status_code in (200, 201), (method, path, r.text)


async def test_secrets_are_shown_once_and_never_logged(
    api: httpx.AsyncClient, receiver: Receiver, live: LiveServer, db: Database, chat: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = template("chat-pending", receiver.url)
    body["data"]["actions"][0]["params"]["headers"] = {"Authorization": "Bearer receiver-secret-123"}
    r = await api.post(f"{MANAGE}/import", json=body)
    assert r.status_code == 201
    secret = r.json()["signingSecret"]
    scenario_id = r.json()["_id"]
    receiver.answer = lambda _item: Response(b"nope", status_code=500)
    await pending(live, db, chat)
    deadline = time.monotonic() + 10
    while len(receiver.seen) < 2:  # failed, and retried
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert receiver.seen[0].headers["authorization"] == "Bearer receiver-secret-123"
    for path in (MANAGE, f"{MANAGE}/{scenario_id}/runs"):
        assert secret not in (await api.get(path)).text
    assert secret not in (await api.post(f"{MANAGE}/{scenario_id}/activate")).text
    assert (await runs(api, scenario_id))[0]["lastError"] == "HTTP 500: nope"
    assert "attempt" in caplog.text  # the retries were logged…
    assert secret not in caplog.text and "receiver-secret-123" not in caplog.text  # …without secrets


async def test_openapi_documents_the_endpoints(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        paths = (await http.get(f"{API}/openapi.json")).json()["paths"]
    assert set(paths[f"{MANAGE}/import"]["post"]["x-required-scopes"]) == {"Create scenarios", ON_BEHALF.value}
    assert f"{MANAGE}/{{scenarioId}}/runs" in paths
