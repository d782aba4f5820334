"""The live stream over real HTTP: events carry the REST shapes, every stream sees the same
events in the same order, and a reconnect with Last-Event-ID replays exactly what was missed."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from inboxd.domain.scopes import Scope
from inboxd.store.db import Database
from tests.support.live import LIVE, LiveReader, Received, head
from tests.support.wa import API, WhatsAppRig

TOKEN_SCOPES = (Scope.VIEW_ALL_CHATS,)


def latest(events: list[Received], prefix: str) -> dict[str, dict]:
    """The last object each `_id` had in events of this kind ("message." or "chat.")."""
    out: dict[str, dict] = {}
    for event in events:
        if event.type.startswith(prefix):
            out[event.data["_id"]] = event.data
    return out


async def settled(rig: WhatsAppRig, chat_id: str, count: int, status: int = 3) -> list[dict]:
    """The chat's messages once `count` of them exist and the outgoing ones reached `status`."""
    for _ in range(600):
        r = await rig.client.get(f"{API}/messages/chat/{chat_id}", params={"beforeTime": "9999999999999", "beforeId": "z"})
        messages = r.json()["messages"]
        if len(messages) >= count and all(m["status"] >= status for m in messages if m.get("direction") == "outgoing"):
            return messages
        await asyncio.sleep(0.05)
    raise AssertionError(f"chat {chat_id} did not settle: {messages}")


async def test_a_sent_message_and_a_received_webhook_arrive_as_events_with_the_rest_shapes(rig: WhatsAppRig) -> None:
    async with LiveReader(rig.server.url, await rig_token(rig)) as stream:
        chat_id = await rig.user_writes("972500001001", text="Hello there", name="Dana")
        await stream.wait_for(lambda ev: any(e.type == "message.created" for e in ev))
        first = stream.events[0]
        assert first.type == "chat.created" and first.data["_id"] == chat_id
        incoming = next(e for e in stream.events if e.type == "message.created" and not e.data.get("systemMessage"))
        assert incoming.data["direction"] == "incoming" and incoming.data["text"] == "Hello there"

        r = await rig.send(chat_id, {"type": "text", "text": "How can I help?"})
        assert r.status_code == 200, r.text
        sent_id = r.json()["messages"][0]["_id"]
        messages = await settled(rig, chat_id, 3)  # the chat's opening system message, the two messages
        await stream.wait_for(lambda ev: latest(ev, "message.").get(sent_id, {}).get("status") == 3)

    by_type = [e.type for e in stream.events]
    assert by_type.count("chat.created") == 1
    created = [e.data for e in stream.events if e.type == "message.created"]
    assert [m["_id"] for m in created if not m.get("systemMessage")] == [incoming.data["_id"], sent_id]
    assert [m["newChatStatus"] for m in created if m.get("systemMessage")] == [1]  # opened: PENDING
    # Each event carries the object the REST API returns: the last one of each id is what a
    # fresh load shows now.
    assert latest(stream.events, "message.") == {m["_id"]: m for m in messages}
    r = await rig.client.get(f"{API}/chats/search")
    [chat] = r.json()["data"]
    assert latest(stream.events, "chat.") == {chat_id: chat}
    assert stream.ids == list(range(stream.ids[0], stream.ids[0] + len(stream.ids)))  # no gap, in order


async def rig_token(rig: WhatsAppRig) -> str:
    return rig.client.headers["Authorization"].removeprefix("Bearer ")


async def test_two_streams_see_the_same_events_in_the_same_order(rig: WhatsAppRig) -> None:
    token = await rig_token(rig)
    async with LiveReader(rig.server.url, token) as one, LiveReader(rig.server.url, token) as two:
        chats = [await rig.user_writes(f"97250000200{i}") for i in range(3)]
        sends = [rig.send(chat, {"type": "text", "text": f"reply {n}"}, headers={"Prefer": "respond-async"})
                 for n in range(4) for chat in chats]
        assert all(r.status_code == 202 for r in await asyncio.gather(*sends))
        target = await head(rig.client)
        await one.wait_until_id(target)
        await two.wait_until_id(target)
    # (the delivery worker's own events after `target` may reach one stream before the other closes)
    assert [e for e in one.events if e.id <= target] == [e for e in two.events if e.id <= target]
    # each new chat's opening system message, its incoming message, and the 12 replies
    assert len({e.data["_id"] for e in one.events if e.type == "message.created"}) == 3 + 3 + 12


async def test_reconnecting_with_last_event_id_replays_exactly_the_missed_events(rig: WhatsAppRig) -> None:
    token = await rig_token(rig)
    chat_id = await rig.user_writes("972500003001")
    async with LiveReader(rig.server.url, token) as stream:
        r = await rig.send(chat_id, {"type": "text", "text": "before"}, headers={"Prefer": "respond-async"})
        assert r.status_code == 202
        await stream.wait_for(lambda ev: any(e.type == "message.created" for e in ev))
        seen = stream.ids[-1]
    # Disconnected after event `seen`: 20 more changes happen.
    for n in range(20):
        r = await rig.send(chat_id, {"type": "text", "text": f"missed {n}"}, headers={"Prefer": "respond-async"})
        assert r.status_code == 202
    missed_head = await head(rig.client)
    async with LiveReader(rig.server.url, token, last_event_id=seen) as again:
        await again.wait_until_id(missed_head)
        await asyncio.sleep(0.3)  # nothing more may come for what is already delivered
    # (the delivery worker may add events of its own after `missed_head`: compare up to it)
    replayed = [e for e in again.events if e.id <= missed_head]
    assert [e.id for e in replayed] == list(range(seen + 1, missed_head + 1))
    created = [e.data["text"] for e in replayed if e.type == "message.created"]
    assert created == [f"missed {n}" for n in range(20)]
    assert len(again.ids) == len(set(again.ids))


async def test_a_stream_needs_a_token_with_view_all_chats(rig: WhatsAppRig, make_token) -> None:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=rig.server.url, timeout=30) as http:
        r = await http.get(LIVE)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
        weak = await make_token(Scope.SEND_SESSION_MESSAGE)
        r = await http.get(LIVE, headers={"Authorization": f"Bearer {weak}"})
        assert r.status_code == 403 and r.json()["details"] == [{"scope": "View all chats", "reason": "missing scope"}]
        r = await http.get(f"{LIVE}/snapshot", headers={"Authorization": f"Bearer {weak}"})
        assert r.status_code == 403


@pytest.mark.parametrize("header, query", [("abc", None), (None, "-1"), ("1.5", None), (None, "9" * 30)])
async def test_a_bad_event_id_is_a_400_naming_it(rig: WhatsAppRig, header: str | None, query: str | None) -> None:
    headers = {"Last-Event-ID": header} if header is not None else {}
    params = {"after": query} if query is not None else {}
    r = await rig.client.get(LIVE, headers=headers, params=params)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid_request"
    assert body["details"][0]["path"] == ("header.Last-Event-ID" if header is not None else "query.after")


async def test_an_empty_last_event_id_starts_from_now(rig: WhatsAppRig) -> None:
    token = await rig_token(rig)
    async with httpx.AsyncClient(base_url=rig.server.url, timeout=httpx.Timeout(30, read=5)) as http, http.stream(
        "GET", LIVE, headers={"Authorization": f"Bearer {token}", "Last-Event-ID": ""}
    ) as response:
        assert response.status_code == 200


async def test_last_event_id_wins_over_after(rig: WhatsAppRig, db: Database) -> None:
    """An EventSource reconnects with the URL it was opened with (an old `?after=`) and the
    Last-Event-ID of what it got since: the header decides."""
    token = await rig_token(rig)
    chat_id = await rig.user_writes("972500004001")
    start = await head(rig.client)
    for n in range(3):
        await rig.send(chat_id, {"type": "text", "text": f"m{n}"}, headers={"Prefer": "respond-async"})
    middle = await head(rig.client)
    await rig.send(chat_id, {"type": "text", "text": "last"}, headers={"Prefer": "respond-async"})
    end = await head(rig.client)
    async with LiveReader(rig.server.url, token, after=start, last_event_id=middle) as stream:
        await stream.wait_until_id(end)
    assert stream.ids[0] == middle + 1
