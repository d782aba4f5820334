"""Request ids (every answer carries `X-Request-Id`; error bodies `requestId`; every log line of
the request its id) and the last resort for an unexpected error: a clean JSON 500 that leaves the
keep-alive connection usable (before, uvicorn closed it and the client's next request failed)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from fastapi import APIRouter, Request
from starlette.responses import Response

from inboxd.api.hot import hot
from inboxd.config import Settings
from inboxd.domain.scopes import Scope
from inboxd.logs import RequestIdFilter
from inboxd.services import Services
from inboxd.store.db import Database
from tests.support.server import LiveServer, start_server

ANY_ID = "0123456789abcdef01234567"

# A route that fails the way a bug would: only this test mounts it.
boom = APIRouter()


@boom.get("/test-only/boom")
async def explode() -> None:
    logging.getLogger("inboxd.test").warning("about to fail")
    raise RuntimeError("a bug")


@boom.get("/test-only/hot-boom")
async def explode_hot() -> None:  # FastAPI's endpoint; the hot stack answers with the handler below
    raise AssertionError("served by FastAPI, not as a hot route")


async def _explode_hot(_request: Request, _services: Services) -> Response:
    await explode()
    raise AssertionError("unreachable")


hot(explode_hot, _explode_hot)  # the same failure on the hot routes' stack (api/app.py InboxdApp)


@pytest.fixture
async def boom_server(settings: Settings, db: Database) -> AsyncIterator[LiveServer]:
    async with start_server(settings, db, extra_routers=[boom]) as live:
        yield live


async def test_every_answer_carries_a_request_id(client: httpx.AsyncClient, make_token) -> None:  # type: ignore[no-untyped-def]
    token = await make_token(Scope.LIST_ALL_CHATS)
    auth = {"Authorization": f"Bearer {token}"}
    answers = [
        await client.get("/healthz"),
        await client.get("/server/api/v2/chats/search", headers=auth),
        await client.get("/server/api/v2/chats/search"),  # 401
        await client.get("/no/such/route"),  # 404
        await client.post("/server/api/v2/messages/send/" + ANY_ID, content=b"x" * (2 * 1024 * 1024)),  # 413
    ]
    ids = [r.headers.get("x-request-id") for r in answers]
    assert all(ids) and len(set(ids)) == len(ids), ids
    for r in answers[2:]:
        assert r.json()["requestId"] == r.headers["x-request-id"], r.text


async def test_a_valid_client_request_id_is_kept_and_an_invalid_one_replaced(client: httpx.AsyncClient) -> None:
    given = "req-2f6c1a9e:retry.1"
    r = await client.get("/server/api/v2/chats/search", headers={"X-Request-Id": given})
    assert r.status_code == 401
    assert r.headers["x-request-id"] == given and r.json()["requestId"] == given
    for bad in ("", "x" * 129, "has space", "semi;colon", "newline\tx"):
        r = await client.get("/healthz", headers={"X-Request-Id": bad})
        assert r.headers["x-request-id"] not in (bad, ""), bad
        assert len(r.headers["x-request-id"]) == 24


@pytest.mark.parametrize("path", ["/test-only/boom", "/test-only/hot-boom"])
async def test_an_unexpected_error_is_a_json_500_and_the_connection_stays_usable(
    boom_server: LiveServer, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    reader, writer = await asyncio.open_connection("127.0.0.1", boom_server.port)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: test\r\nX-Request-Id: boom-1\r\n\r\n".encode()
        writer.write(request + b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")  # pipelined on one connection
        await writer.drain()
        first = await _read_response(reader)
        second = await _read_response(reader)
    finally:
        writer.close()
    status, headers, body = first
    assert status == 500
    assert headers["content-type"] == "application/json" and headers.get("connection") != "close"
    error = orjson.loads(body)
    assert error == {"success": False, "error": error["error"], "code": "internal_error", "details": [],
                     "requestId": "boom-1"}
    assert "a bug" not in error["error"] and "Traceback" not in body.decode()
    assert second[0] == 200 and orjson.loads(second[2])["status"] == "ok"
    # Every line the failing request caused carries its id, the traceback included.
    lines = [r for r in caplog.records if r.name in ("inboxd.test", "inboxd.api.middleware")]
    assert {r.getMessage() for r in lines} >= {"about to fail", f"unhandled error on GET {path}"}
    assert {r.request_id for r in lines} == {"boom-1"}  # type: ignore[attr-defined]
    assert len([r for r in caplog.records if r.exc_info]) == 1  # logged once, with its traceback


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 30)
    return status, headers, body


async def test_the_access_line_names_the_whole_route_template(
    client: httpx.AsyncClient, make_token, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    token = await make_token(Scope.SEND_SESSION_MESSAGE)
    with caplog.at_level(logging.INFO, logger="inboxd.access"):
        await client.get(f"/server/api/v2/chats/{ANY_ID}", headers={"Authorization": f"Bearer {token}"})
        await client.get("/server/files/shared/" + ANY_ID + "/" + "ab" * 50)
        await client.get("/nowhere")
    lines = [r for r in caplog.records if r.name == "inboxd.access"]
    assert [(r.route, r.status) for r in lines] == [  # type: ignore[attr-defined]
        ("/server/api/v2/chats/{chatId}", 404),
        ("/server/files/shared/{fileId}/{token}", 404),
        ("unmatched", 404),
    ]
    assert all(ANY_ID not in r.getMessage() and "abab" not in r.getMessage() for r in lines)
