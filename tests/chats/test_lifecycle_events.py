"""A chat's whole life over HTTP, with the simulator and every (SUB) chat template subscribed:
new (PENDING) → assigned by the API (PENDING for the agent) → taken (ASSIGNED) → resolved with the
resolution message → the contact writes (PENDING). One system message per transition, and each
template fires once per transition with the documented eventData, in order."""

from __future__ import annotations

from typing import Any

import httpx

from inboxd.store import accounts as accounts_store
from tests.chats.conftest import API, contact_writes, make_agent, system_messages
from tests.events.conftest import Receiver, subscribe
from tests.support.wa import WhatsAppRig

DANA = "972521234567"
TEMPLATES = ["chat-pending", "chat-assigned", "chat-resolved", "chat-resolved-by-agent", "chat-resolved-by-bot",
             "external-bot-enabled", "external-bot-disabled"]
RESOLUTION = "Thank you! We are closing this chat."


async def _subscribe(rig: WhatsAppRig, receiver: Receiver) -> None:
    for name in TEMPLATES:
        await subscribe(rig.client, name, f"{receiver.url}/{name}")


def _by(receiver: Receiver, name: str) -> list[dict[str, Any]]:
    return [r.body for r in receiver.requests if r.path == f"/hooks/{name}"]


async def _ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_chats_life_with_its_system_messages_and_events(rig: WhatsAppRig, receiver: Receiver) -> None:
    await _subscribe(rig, receiver)
    async with rig.db.write() as conn:
        await accounts_store.update_lifecycle_settings(conn, rig.account.id, {"resolution_message": RESOLUTION})
    tyler = await make_agent(rig, "tyler@example.com", "Tyler", crmId="crm-7")

    chat = await rig.user_writes(DANA, "Hello?")
    await receiver.wait_for(1)
    await _ok(await rig.client.post(f"{API}/chats/assign", json={"chatId": chat, "agentEmail": "tyler@example.com"}))
    await receiver.wait_for(2)
    await _ok(await rig.client.post(f"{API}/chats/{chat}/take", json={"agentUid": tyler["uid"]}))
    await receiver.wait_for(3)
    resolved = await _ok(await rig.client.post(f"{API}/chats/{chat}/resolve", json={"notifyClient": True}))
    assert resolved["notification"]["sent"] is True
    await receiver.wait_for(5)
    await contact_writes(rig, DANA, "One more thing")  # Tyler is offline: the chat does not return to him
    await receiver.wait_for(6)
    await receiver.settle()

    sent = await rig.sent_to(DANA)
    assert [s["payload"]["text"]["body"] for s in sent] == [RESOLUTION]

    steps = [(m["newChatStatus"], m["reason"], m["agent"]["uid"]) for m in await system_messages(rig, chat)]
    assert steps == [(1, "new_chat", None), (1, "assign", tyler["uid"]), (2, "take", tyler["uid"]),
                     (3, "resolve", tyler["uid"]), (1, "contact_wrote", None)]

    pending = _by(receiver, "chat-pending")
    assert [e["eventName"] for e in pending] == ["chatPending"] * 3
    assert [(e["eventData"]["chat"]["status"], e["eventData"]["chat"]["agent"]["uid"]) for e in pending] == [
        (1, None), (1, tyler["uid"]), (1, None)]
    assert all(set(e["eventData"]) == {"chat"} and e["eventData"]["chat"]["_id"] == chat for e in pending)
    assert all(isinstance(e["eventData"]["chat"]["pendingUpdateTime"], int) for e in pending)

    [assigned] = _by(receiver, "chat-assigned")
    assert assigned["eventName"] == "chatAssigned"
    assert assigned["eventData"]["agent"] == {"id": tyler["uid"], "crmId": "crm-7", "email": "tyler@example.com",
                                              "displayName": "Tyler", "roles": ["agent"]}
    assert assigned["eventData"]["chat"]["status"] == 2 and assigned["eventData"]["chat"]["agent"]["uid"] == tyler["uid"]

    [done] = _by(receiver, "chat-resolved")
    assert done["eventName"] == "chatResolved" and done["eventData"]["chat"]["status"] == 3
    assert isinstance(done["eventData"]["chat"]["resolvedUpdateTime"], int)
    assert done["eventData"]["chat"]["lastMessage"]["text"] == RESOLUTION  # the message went first
    [by_agent] = _by(receiver, "chat-resolved-by-agent")
    assert by_agent["eventName"] == "chatResolvedByAgent" and by_agent["eventData"]["chat"]["agent"]["uid"] == tyler["uid"]
    assert _by(receiver, "chat-resolved-by-bot") == []
    assert _by(receiver, "external-bot-enabled") == [] and _by(receiver, "external-bot-disabled") == []
    assert len(receiver.requests) == 6


async def test_external_bot_and_resolved_by_bot_events(rig: WhatsAppRig, receiver: Receiver) -> None:
    await _subscribe(rig, receiver)
    chat = await rig.user_writes(DANA)
    await receiver.wait_for(1)  # pending (new)
    await _ok(await rig.client.patch(f"{API}/chats/{chat}", json={"externalBot": True}))
    await _ok(await rig.client.patch(f"{API}/chats/{chat}", json={"externalBot": True}))  # no change, no event
    await _ok(await rig.client.post(f"{API}/chats/{chat}/resolve"))  # nobody's: resolved by the bot
    await _ok(await rig.client.patch(f"{API}/chats/{chat}", json={"externalBot": False}))
    await receiver.wait_for(6)
    await receiver.settle()

    [enabled] = _by(receiver, "external-bot-enabled")
    assert enabled["eventName"] == "externalBotEnabled"
    assert enabled["eventData"]["chat"]["externalBot"] is True and enabled["eventData"]["chat"]["status"] == 0
    [disabled] = _by(receiver, "external-bot-disabled")
    assert disabled["eventName"] == "externalBotDisabled" and disabled["eventData"]["chat"]["externalBot"] is False
    [by_bot] = _by(receiver, "chat-resolved-by-bot")
    assert by_bot["eventName"] == "chatResolvedByBot"
    assert len(_by(receiver, "chat-resolved")) == 1 and _by(receiver, "chat-resolved-by-agent") == []
    # pending: when the chat opened, and when the bot gave it back
    assert [e["eventData"]["chat"]["externalBot"] for e in _by(receiver, "chat-pending")] == [False, False]
    assert len(receiver.requests) == 6
    assert [m["reason"] for m in await system_messages(rig, chat)] == ["new_chat", "external_bot", "resolve",
                                                                       "external_bot"]


async def test_a_failed_change_writes_nothing_and_raises_no_event(rig: WhatsAppRig, receiver: Receiver) -> None:
    await _subscribe(rig, receiver)
    chat = await rig.user_writes(DANA)
    await receiver.wait_for(1)
    r = await rig.client.post(f"{API}/chats/assign", json={"chatId": chat, "agentEmail": "ghost@example.com"})
    assert r.status_code == 404
    r = await rig.client.patch(f"{API}/chats/{chat}", json={"externalBot": True, "crmData": {"x": "y" * 70_000}})
    assert r.status_code == 413  # the bot flag is not half-applied
    await receiver.settle()
    assert len(receiver.requests) == 1 and len(await system_messages(rig, chat)) == 1


async def test_a_chat_the_business_opens_is_resolved_but_raises_no_resolve(rig: WhatsAppRig, receiver: Receiver) -> None:
    """Unsubscribing a phone without a chat creates it (as a template send does): RESOLVED, with
    its system message, and no Chat Resolved — nobody resolved anything. The contact's first
    message reopens it."""
    await _subscribe(rig, receiver)
    r = await rig.client.post(f"{API}/whatsapp/templates/unsubscribe", json={"phone": "+972521234567"})
    assert r.status_code == 200, r.text
    async with rig.db.read() as conn:
        from inboxd.store import chats as chats_store

        chat = await chats_store.find_chat(conn, rig.account.id, DANA)
    assert chat is not None and chat["status"] == 3
    assert [(m["newChatStatus"], m["reason"]) for m in await system_messages(rig, chat["id"])] == [
        (3, "opened_by_business")]
    await contact_writes(rig, DANA, "Hi, it's me")
    await receiver.wait_for(1)
    await receiver.settle()
    assert [r.path for r in receiver.requests] == ["/hooks/chat-pending"]
    assert [m["reason"] for m in await system_messages(rig, chat["id"])] == ["opened_by_business", "contact_wrote"]
