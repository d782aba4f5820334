"""The hot routes (api/hot.py) are answered by a stack of their own (`api.app.InboxdApp`): the
edge middleware every request passes, around `HotRoutes`, and none of FastAPI's layers. What
every request gets, they get too: request id, rate-limit headers and 429, the body limit's 413,
401/403, the validation 400, the JSON 500 (tests/api/test_request_context.py), metrics and the
access line; every other route still goes through FastAPI's stack."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from inboxd import metrics
from inboxd.config import Settings
from inboxd.domain.scopes import Scope
from inboxd.logs import RequestIdFilter
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from tests.support.seed import chat_with_messages
from tests.support.server import LiveServer, start_server

SEND = "/server/api/v2/messages/send/{chatId}"
ANY_ID = "0123456789abcdef01234567"


@pytest.fixture
async def quiet_server(settings: Settings, db: Database) -> AsyncIterator[LiveServer]:
    """No delivery workers: an async send is answered after its commit and stays in the outbox."""
    async with start_server(settings.model_copy(update={"workers": 0}), db) as live:
        yield live


async def open_chat(db: Database, wa_account: Any) -> str:
    """A chat whose 24-hour window is open (the user wrote a moment ago)."""
    return await chat_with_messages(db, wa_account.account, "972521234567", texts=[(int(time.time() * 1000), "hi")])


async def token(db: Database, *scopes: Scope, burst: int | None = None) -> dict[str, str]:
    async with db.write() as conn:
        secret, _ = await tokens_store.create_token(conn, "hot", list(scopes), rate_per_second=0.01 if burst else None,
                                                     rate_burst=burst)
    return {"Authorization": f"Bearer {secret}"}


def answered(route: str, status: int) -> float:
    return metrics.REGISTRY.get_sample_value(
        "inboxd_http_requests_total", {"method": "POST", "route": route, "status": str(status)}) or 0.0


async def test_a_hot_route_is_answered_outside_fastapis_stack_and_others_are_not(
    quiet_server: LiveServer, db: Database, wa_account: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    app = quiet_server.app
    fastapi_stack, calls = app.middleware_stack, []

    async def counting(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        await fastapi_stack(scope, receive, send)

    app.middleware_stack = counting
    chat = await open_chat(db, wa_account)
    auth = await token(db, Scope.SEND_SESSION_MESSAGE)
    before = answered(SEND, 202)
    async with httpx.AsyncClient(base_url=quiet_server.url, headers=auth) as http:
        with caplog.at_level(logging.INFO, logger="inboxd.access"):
            sent = await http.post(f"/server/api/v2/messages/send/{chat}", json={"type": "text", "text": "Hey"},
                                   headers={"Prefer": "respond-async", "X-Request-Id": "hot-1"})
        assert sent.status_code == 202, sent.text
        assert sent.json()["messages"][0]["text"] == "Hey"
        assert sent.headers["x-request-id"] == "hot-1"
        assert sent.headers["ratelimit-policy"].startswith('"token";') and sent.headers["ratelimit"]
        assert calls == []  # not through FastAPI's middleware stack
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get(f"/server/api/v2/chats/{chat}")).status_code == 200
    assert calls == ["/healthz", f"/server/api/v2/chats/{chat}"]
    assert answered(SEND, 202) == before + 1
    [line] = [r for r in caplog.records if r.name == "inboxd.access"]
    assert (line.route, line.status, line.request_id) == (SEND, 202, "hot-1")  # type: ignore[attr-defined]


async def test_the_hot_route_keeps_every_rule_of_the_edge(quiet_server: LiveServer, db: Database, wa_account: Any) -> None:
    chat = await open_chat(db, wa_account)
    path = f"/server/api/v2/messages/send/{chat}"
    allowed = await token(db, Scope.SEND_SESSION_MESSAGE)
    async with httpx.AsyncClient(base_url=quiet_server.url) as http:
        answers = {
            401: await http.post(path, json={"type": "text", "text": "x"}),
            403: await http.post(path, json={"type": "text", "text": "x"},
                                 headers=await token(db, Scope.LIST_ALL_CHATS)),
            400: await http.post(path, json={"type": "text"}, headers=allowed),
            404: await http.post(f"/server/api/v2/messages/send/{ANY_ID}", json={"type": "text", "text": "x"},
                                 headers=allowed),
            413: await http.post(path, content=b"x" * (1024 * 1024 + 1), headers=allowed),
        }

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit counts what is read
            for _ in range(3):
                yield b" " * (512 * 1024)

        unsized = await http.post(path, content=chunks(), headers=allowed)
        codes = {status: r.json()["code"] for status, r in answers.items()}
        assert codes == {401: "unauthorized", 403: "missing_scopes", 400: "invalid_request", 404: "chat_not_found",
                         413: "payload_too_large"}, {s: r.text for s, r in answers.items()}
        assert (unsized.status_code, unsized.json()["code"]) == (413, "payload_too_large")
        for r in [*answers.values(), unsized]:
            assert r.json()["requestId"] == r.headers["x-request-id"]
        assert answers[400].json()["details"][0]["path"].startswith("body")
        tight = await token(db, Scope.SEND_SESSION_MESSAGE, burst=1)
        first = await http.post(path, json={"type": "text", "text": "x"}, headers={**tight, "Prefer": "respond-async"})
        refused = await http.post(path, json={"type": "text", "text": "x"}, headers=tight)
    assert first.status_code == 202, first.text
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert refused.headers["ratelimit-policy"] == '"token";q=1;w=100' and refused.headers["retry-after"]
