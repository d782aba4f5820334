"""Search Chats and Get Chat by Chat ID: filters, paging, shapes, validation."""

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
    return {"Authorization": f"Bearer {await make_token(Scope.LIST_ALL_CHATS, Scope.SEND_SESSION_MESSAGE)}"}


@pytest.fixture
async def three_chats(db: Database, wa_account: WhatsAppAccountSpec) -> dict[str, str]:
    acc = wa_account.account
    return {
        "john": await chat_with_messages(db, acc, "972521234567", title="John Doe", texts=[(1_000, "hi")],
                                         update={"labels": ["VIP", "gym"], "status": 2}),
        "dana": await chat_with_messages(db, acc, "972541111111", title="Dana Levi", texts=[(3_000, "hello")],
                                         update={"status": 3}),
        "empty": await chat_with_messages(db, acc, "972549999999", title="No Messages"),
    }


async def search(client: httpx.AsyncClient, auth: dict[str, str], **params) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await client.get(f"{API}/chats/search", params=params, headers=auth)


async def ids(client: httpx.AsyncClient, auth: dict[str, str], **params) -> list[str]:  # type: ignore[no-untyped-def]
    r = await search(client, auth, **params)
    assert r.status_code == 200, r.text
    return [c["_id"] for c in r.json()["data"]]


async def test_newest_first_and_empty_chats_only_on_request(client, auth, three_chats) -> None:  # type: ignore[no-untyped-def]
    assert await ids(client, auth) == [three_chats["dana"], three_chats["john"]]
    assert await ids(client, auth, includeEmpty="true") == [three_chats["dana"], three_chats["john"], three_chats["empty"]]
    assert len(await ids(client, auth, includeEmpty="1")) == 3
    assert len(await ids(client, auth, includeEmpty="0")) == 2


async def test_search_by_name_and_phone_in_any_format(client, auth, three_chats) -> None:  # type: ignore[no-untyped-def]
    assert await ids(client, auth, search="john") == [three_chats["john"]]
    assert await ids(client, auth, search="DOE") == [three_chats["john"]]
    assert await ids(client, auth, search="+972 52-123-4567") == [three_chats["john"]]
    assert await ids(client, auth, search="0521234567") == [three_chats["john"]]
    assert await ids(client, auth, search="%_") == []


async def test_filters(client, auth, three_chats, wa_account) -> None:  # type: ignore[no-untyped-def]
    assert await ids(client, auth, **{"statuses[]": ["RESOLVED"]}) == [three_chats["dana"]]
    assert await ids(client, auth, **{"statuses[]": ["RESOLVED", "ASSIGNED"]}) == [three_chats["dana"], three_chats["john"]]
    assert await ids(client, auth, **{"labels[]": ["VIP", "other"]}) == [three_chats["john"]]
    account = {"channel[name]": "whatsapp", "channel[accountId]": wa_account.account.account_id}
    assert len(await ids(client, auth, **account)) == 2
    assert await ids(client, auth, **{**account, "channel[accountId]": "111"}) == []


async def test_limit_skip_and_total(client, auth, three_chats) -> None:  # type: ignore[no-untyped-def]
    r = (await search(client, auth, limit=1, skip=1)).json()
    assert r["total"] == 2 and [c["_id"] for c in r["data"]] == [three_chats["john"]]


async def test_full_shape_of_a_search_item(client, auth, three_chats) -> None:  # type: ignore[no-untyped-def]
    item = (await search(client, auth, search="john")).json()["data"][0]
    assert item["channelInfo"] == {"name": "whatsapp", "id": "972521234567", "accountId": "15550783881"}
    assert item["clientPhoneE164"] == "+972521234567" and item["entityPhone"] == "+15550783881"
    assert item["agent"] == {"uid": None, "displayName": ""}
    assert item["labels"] == ["VIP", "gym"] and item["status"] == 2
    assert item["last_message_timestamp"] == 1_000 and item["lastIncomingMessageTimestamp"] == 1_000
    assert item["created"].endswith("Z") and item["updatedAt"].endswith("Z")
    assert "lastMessage" not in item and "displayName" not in item


async def test_with_last_message_adds_the_preview(client, auth, three_chats) -> None:  # type: ignore[no-untyped-def]
    """inboxd's `withLastMessage=1` (the web inbox's chat list shows each chat's preview)."""
    item = (await search(client, auth, search="john", withLastMessage="1")).json()["data"][0]
    assert item["lastMessage"] == {"type": "text", "text": "hi"} and item["labels"] == ["VIP", "gym"]
    assert "lastMessage" not in (await search(client, auth, search="john", withLastMessage="0")).json()["data"][0]


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"search": "a"}, "query.search"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 10001}, "query.limit"),
        ({"skip": -1}, "query.skip"),
        ({"statuses[]": ["SOLVED"]}, "query.statuses[][0]"),
        ({"channel[name]": "whatsapp"}, "query.channel"),
        ({"channel[name]": "fax", "channel[accountId]": "1"}, "query.channel[name]"),
        ({"includeEmpty": "yes"}, "query.includeEmpty"),
        ({"withLastMessage": "yes"}, "query.withLastMessage"),
    ],
)
async def test_invalid_searches_are_400_naming_the_parameter(client, auth, params, path) -> None:  # type: ignore[no-untyped-def]
    r = await search(client, auth, **params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["success"] is False and body["code"] == "invalid_request"
    assert path in [d["path"] for d in body["details"]]


async def test_get_chat_public_view(client, auth, three_chats) -> None:  # type: ignore[no-untyped-def]
    r = await client.get(f"{API}/chats/{three_chats['john']}", headers=auth)
    assert r.status_code == 200
    chat = r.json()
    assert chat["success"] is True and chat["title"] == "John Doe"
    assert chat["lastMessage"] == {"type": "text", "text": "hi"}
    assert chat["lastMessageTimestamp"] == 1_000 and chat["lastIncomingMessageTimestamp"] == 1_000
    for hidden in ("_id", "labels", "crmData", "displayName"):
        assert hidden not in chat
    assert chat["botState"] == {} and chat["externalBot"] is False and chat["unreadCount"] == 1


@pytest.mark.parametrize("chat_id", ["0123456789abcdef01234567", "not-an-id"])
async def test_unknown_chat_is_404(client, auth, chat_id) -> None:  # type: ignore[no-untyped-def]
    r = await client.get(f"{API}/chats/{chat_id}", headers=auth)
    assert r.status_code == 404 and r.json()["code"] == "chat_not_found"
