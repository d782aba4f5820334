"""Get Messages of a Chat: cursor paging backwards, ascending pages, whole-chat time range."""

from __future__ import annotations

import httpx
import pytest

from inboxd.domain.scopes import Scope
from inboxd.store.db import Database
from tests.conftest import WhatsAppAccountSpec
from tests.support.seed import chat_with_messages

API = "/server/api/v2"


@pytest.fixture
async def auth(make_token) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {await make_token(Scope.VIEW_ALL_CHATS)}"}


@pytest.fixture
async def chat_id(db: Database, wa_account: WhatsAppAccountSpec) -> str:
    # 120 messages, two of them at the same millisecond
    texts = [(1_000 + i * 10, f"m{i:03d}") for i in range(120)] + [(1_000 + 50 * 10, "m050-twin")]
    return await chat_with_messages(db, wa_account.account, "972521234567", texts=texts, bot_session_id=None)


async def page(client: httpx.AsyncClient, auth, chat_id: str, **params) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await client.get(f"{API}/messages/chat/{chat_id}", params=params, headers=auth)


async def test_paging_backwards_visits_every_message_once_in_order(client, auth, chat_id) -> None:  # type: ignore[no-untyped-def]
    seen: list[dict] = []  # type: ignore[type-arg]
    params = {"beforeTime": 9_999_999_999_999, "beforeId": "z"}
    while True:
        r = await page(client, auth, chat_id, **params, limit=7)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["minTime"] == 1_000 and body["maxTime"] == 1_000 + 119 * 10
        if not body["messages"]:
            break
        stamps = [(m["timestamp"], m["_id"]) for m in body["messages"]]
        assert stamps == sorted(stamps)
        seen = body["messages"] + seen
        oldest = body["messages"][0]
        params = {"beforeTime": oldest["timestamp"], "beforeId": oldest["_id"]}
    assert len(seen) == 121 and len({m["_id"] for m in seen}) == 121
    assert [m["timestamp"] for m in seen] == sorted(m["timestamp"] for m in seen)


async def test_default_limit_is_50(client, auth, chat_id) -> None:  # type: ignore[no-untyped-def]
    r = await page(client, auth, chat_id, beforeTime=9_999_999_999_999, beforeId="z")
    assert len(r.json()["messages"]) == 50


async def test_bot_session_filter(client, auth, db, wa_account) -> None:  # type: ignore[no-untyped-def]
    chat = await chat_with_messages(db, wa_account.account, "972500000000", texts=[(5, "a"), (6, "b")],
                                    bot_session_id="abc123")
    r = await page(client, auth, chat, botSessionId="abc123")
    assert [m["text"] for m in r.json()["messages"]] == ["a", "b"]
    assert r.json()["messages"][0]["botSessionId"] == "abc123"
    assert (await page(client, auth, chat, botSessionId="other")).json()["messages"] == []


@pytest.mark.parametrize(
    "params",
    [{}, {"beforeTime": 5}, {"beforeId": "abc"}, {"beforeTime": "x", "beforeId": "a"},
     {"beforeTime": 5, "beforeId": "A-B"}, {"botSessionId": "x", "limit": "-1"}, {"botSessionId": "x", "limit": 0}],
)
async def test_a_filter_is_required_and_params_are_checked(client, auth, chat_id, params) -> None:  # type: ignore[no-untyped-def]
    r = await page(client, auth, chat_id, **params)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request" and r.json()["details"]


async def test_unknown_chat(client, auth) -> None:  # type: ignore[no-untyped-def]
    r = await page(client, auth, "0123456789abcdef01234567", botSessionId="x")
    assert r.status_code == 404 and r.json()["code"] == "chat_not_found"
