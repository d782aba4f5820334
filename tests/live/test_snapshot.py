"""Zulip's test of an event system: load the lists with the id of the last event they include,
let things happen, then apply the events after that id to the old lists — the result is what a
fresh load shows. It fails for any change that does not publish its event (or publishes a stale
object)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.live import LiveReader, Received, head, quiet
from tests.support.wa import API, WhatsAppRig

NEWEST = {"beforeTime": "9999999999999", "beforeId": "z", "limit": "1000"}


async def load(rig: WhatsAppRig) -> tuple[int, dict[str, Any], dict[str, dict[str, Any]]]:
    """(lastEventId, chats by id, each chat's messages by id), as a page would load them."""
    r = await rig.client.get(f"{API}/chats/search", params={"includeEmpty": "1", "limit": "1000"})
    assert r.status_code == 200, r.text
    body = r.json()
    chats = {c["_id"]: c for c in body["data"]}
    messages = {}
    for chat_id in chats:
        page = (await rig.client.get(f"{API}/messages/chat/{chat_id}", params=NEWEST)).json()
        assert page["lastEventId"] >= body["lastEventId"]
        messages[chat_id] = {m["_id"]: m for m in page["messages"]}
    return body["lastEventId"], chats, messages


def apply(events: list[Received], chats: dict[str, Any], messages: dict[str, dict[str, Any]]) -> None:
    """What a client does with each event: the object replaces (or adds) the one with its id."""
    for event in events:
        if event.type in ("chat.created", "chat.updated"):
            chats[event.data["_id"]] = event.data
            messages.setdefault(event.data["_id"], {})
        elif event.type in ("message.created", "message.updated"):
            messages.setdefault(event.data["parent_chat"], {})[event.data["_id"]] = event.data


async def test_events_after_a_snapshot_applied_to_it_give_a_fresh_load(rig: WhatsAppRig) -> None:
    token = rig.client.headers["Authorization"].removeprefix("Bearer ")
    dana = await rig.user_writes("972500005001", "Hi", name="Dana")
    await rig.send(dana, {"type": "text", "text": "Hello Dana"})
    await quiet(rig.db)
    snapshot_id, chats, messages = await load(rig)

    # What happens while the page is open (or the browser is offline):
    noa = await rig.user_writes("972500005002", "First time here", name="Noa")  # a new chat
    await rig.user_writes("972500005001", "Another question", name="Dana Levi")  # preview, unread, title
    replies = await asyncio.gather(*(rig.send(chat, {"type": "text", "text": f"answer {n}"}) for n in range(3)
                                     for chat in (dana, noa)))
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    wamid = replies[0].json()["messages"][0]["channelInfo"]["id"]
    r = await rig.control.post("/simulator/inbound", json={"from": "972500005001", "reaction": {
        "message_id": wamid, "emoji": "👍"}})  # a reaction changes the message reacted to
    assert r.status_code == 200, r.text
    r = await rig.client.post(f"{API}/whatsapp/templates/unsubscribe", json={"phone": "972500005001"})
    assert r.status_code == 200  # the chat shows `unsubscribed`
    r = await rig.client.post(f"{API}/whatsapp/templates/unsubscribe", json={"phone": "972500005003"})
    assert r.status_code == 200  # an empty chat is created to hold it
    await quiet(rig.db)

    end = await head(rig.client)
    async with LiveReader(rig.server.url, token, after=snapshot_id) as stream:
        await stream.wait_until_id(end)
    assert stream.ids == list(range(snapshot_id + 1, end + 1))
    apply(stream.events, chats, messages)

    _, fresh_chats, fresh_messages = await load(rig)
    assert chats == fresh_chats
    assert messages == fresh_messages
    assert len(fresh_chats) == 3
    reacted = fresh_messages[dana][replies[0].json()["messages"][0]["_id"]]
    assert reacted["reactions"][0]["emoji"] == "👍"
