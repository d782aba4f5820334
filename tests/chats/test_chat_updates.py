"""Resolve Chat (§5.5), Update Chat Properties (§5.6), Update CRM Data (§5.7) over HTTP, and the
lifecycle fields of every Chat rendering (§5.1–§5.3)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import sqlalchemy as sa

from inboxd.store import accounts as accounts_store
from inboxd.store.tables import chats
from tests.chats.conftest import (
    API,
    chat_row,
    contact_writes,
    error_paths,
    get_chat,
    make_agent,
    make_department,
    system_messages,
)
from tests.support.wa import WhatsAppRig

DANA = "972521234567"
RESOLUTION = "Thanks for writing to us! This conversation is now closed."


async def resolution_message(rig: WhatsAppRig, text: str | None) -> None:
    async with rig.db.write() as conn:
        await accounts_store.update_lifecycle_settings(conn, rig.account.id, {"resolution_message": text})


async def until_sent(rig: WhatsAppRig, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        sent = await rig.sent_to(DANA)
        if len(sent) >= count:
            return sent
        assert time.monotonic() < deadline, f"{len(sent)} of {count} messages reached the simulator"
        await asyncio.sleep(0.05)


# --- Resolve Chat ------------------------------------------------------------------------------------


async def test_resolve_without_a_body_as_the_poc_does(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(DANA)
    r = await rig.client.post(f"{API}/chats/{chat}/resolve")
    assert r.status_code == 200 and r.json() == {"success": True}
    found = await get_chat(rig, chat)
    assert found["status"] == 3 and abs(found["resolvedUpdateTime"] - time.time()) < 120  # seconds
    assert (await rig.client.post(f"{API}/chats/{chat}/resolve", json={})).json() == {"success": True}
    assert [m["newChatStatus"] for m in await system_messages(rig, chat)] == [1, 3]  # the repeat changed nothing
    assert await rig.sent_to(DANA) == []


async def test_notify_client_sends_the_resolution_message_first(rig: WhatsAppRig) -> None:
    await resolution_message(rig, RESOLUTION)
    chat = await rig.user_writes(DANA)
    r = await rig.client.post(f"{API}/chats/{chat}/resolve", json={"notifyClient": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["notification"]["sent"] is True
    [sent] = await until_sent(rig, 1)
    assert sent["payload"]["type"] == "text" and sent["payload"]["text"]["body"] == RESOLUTION
    history = (await rig.client.get(f"{API}/messages/chat/{chat}", params={"beforeTime": "9999999999999",
                                                                           "beforeId": "z"})).json()["messages"]
    assert [m.get("text") or m["newChatStatus"] for m in history] == ["Hi", 1, RESOLUTION, 3]
    assert history[2]["_id"] == body["notification"]["messageId"] and history[2]["direction"] == "outgoing"
    assert (await chat_row(rig, chat))["status"] == 3


async def test_notify_client_with_the_window_closed_still_resolves(rig: WhatsAppRig) -> None:
    await resolution_message(rig, RESOLUTION)
    chat = await rig.user_writes(DANA)
    two_days_ago = int(time.time() * 1000) - 2 * 86_400_000
    async with rig.db.write() as conn:
        await conn.execute(sa.update(chats).where(chats.c.id == chat).values(last_incoming_at=two_days_ago))
    r = await rig.client.post(f"{API}/chats/{chat}/resolve", json={"notifyClient": True})
    assert r.status_code == 200, r.text
    notification = r.json()["notification"]
    assert notification["sent"] is False and notification["code"] == "session_window_closed"
    assert notification["lastIncomingMessageTimestamp"] == two_days_ago and "template" in notification["hint"]
    assert (await chat_row(rig, chat))["status"] == 3
    assert await rig.sent_to(DANA) == []


async def test_notify_client_without_a_resolution_message_or_twice(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(DANA)
    r = await rig.client.post(f"{API}/chats/{chat}/resolve", json={"notifyClient": True})
    assert r.json()["notification"]["code"] == "no_resolution_message"
    await resolution_message(rig, RESOLUTION)
    r = await rig.client.post(f"{API}/chats/{chat}/resolve", json={"notifyClient": True})
    assert r.json()["notification"] == {"sent": False, "code": "already_resolved", "reason": "The chat was already resolved."}
    r = await rig.client.post(f"{API}/chats/{chat}/resolve", json={"notifyClient": False})
    assert r.json() == {"success": True}
    assert await rig.sent_to(DANA) == []


@pytest.mark.parametrize(("body", "paths"), [({"notifyClient": "yes"}, {"body.notifyClient"}),
                                             ({"notify": True}, {"body.notify"}), ([], {"body"})])
async def test_resolve_bad_bodies(rig: WhatsAppRig, body: Any, paths: set[str]) -> None:
    chat = await rig.user_writes(DANA)
    r = await rig.client.post(f"{API}/chats/{chat}/resolve", json=body)
    assert r.status_code == 400 and error_paths(r) == paths
    assert (await chat_row(rig, chat))["status"] == 1
    r = await rig.client.post(f"{API}/chats/0123456789abcdef01234567/resolve")
    assert r.status_code == 404 and r.json()["code"] == "chat_not_found"


# --- Update Chat Properties ----------------------------------------------------------------


async def patch(rig: WhatsAppRig, chat: str, body: Any) -> Any:
    return await rig.client.patch(f"{API}/chats/{chat}", json=body)


async def test_the_reference_examples(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(DANA)
    r = await patch(rig, chat, {"externalBot": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["_id"] == chat and body["externalBot"] is False and body["status"] == 1
    assert "success" not in body and body["lastMessage"]["text"] == "Hi"
    r = await patch(rig, chat, {"displayName": "Jane Doe"})
    assert r.status_code == 200 and r.json()["displayName"] == "Jane Doe" and r.json()["title"] == "Dana"
    assert [m["reason"] for m in await system_messages(rig, chat)] == ["new_chat"]  # no status changed


async def test_each_field_replaces_the_chats(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(DANA)
    r = await patch(rig, chat, {"crmData": {"leadId": 641225, "plan": "premium"},
                                "crmDeepLink": "https://app.yourcrm.com/leads/641225", "title": "Dana L."})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["crmData"] == {"leadId": 641225, "plan": "premium"} and body["displayName"] == "Dana L."
    assert body["crmDeepLink"] == "https://app.yourcrm.com/leads/641225"
    body = (await patch(rig, chat, {"crmData": {"plan": "basic"}})).json()
    assert body["crmData"] == {"plan": "basic"}  # replaced, not merged
    body = (await patch(rig, chat, {"displayName": None, "crmDeepLink": None, "crmData": None})).json()
    assert "displayName" not in body and "crmDeepLink" not in body and body["crmData"] == {}


async def test_external_bot_takes_and_gives_back_the_chat(rig: WhatsAppRig) -> None:
    await make_department(rig, "support")
    tyler = await make_agent(rig, "tyler@example.com")
    chat = await rig.user_writes(DANA)
    await rig.client.post(f"{API}/chats/assign", json={"chatId": chat, "agentUid": tyler["uid"], "departmentId": "support"})
    on = (await patch(rig, chat, {"externalBot": True})).json()
    assert (on["externalBot"], on["status"], on["agent"]["uid"], on["departmentId"]) == (True, 0, None, "support")
    assert (await patch(rig, chat, {"externalBot": True})).json()["status"] == 0  # no change
    # the contact writes while the bot has the chat: it stays BOT
    await contact_writes(rig, DANA, "still there?")
    assert (await chat_row(rig, chat))["status"] == 0
    off = (await patch(rig, chat, {"externalBot": False})).json()
    assert (off["externalBot"], off["status"], off["agent"]["uid"], off["departmentId"]) == (False, 1, None, "support")
    assert [m["reason"] for m in await system_messages(rig, chat)] == ["new_chat", "assign", "external_bot", "external_bot"]


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"displayName": "x" * 256}, {"body.displayName"}),
        ({"displayName": ""}, {"body.displayName"}),
        ({"displayName": "A", "title": "B"}, {"body.title"}),
        ({"externalBot": "true"}, {"body.externalBot"}),
        ({"crmData": [1, 2]}, {"body.crmData"}),
        ({"crmDeepLink": "javascript:alert(1)"}, {"body.crmDeepLink"}),
        ({"status": 3, "labels": []}, {"body.status", "body.labels"}),
        ("Jane", {"body"}),
    ],
)
async def test_bad_properties_are_400_and_change_nothing(rig: WhatsAppRig, body: Any, paths: set[str]) -> None:
    chat = await rig.user_writes(DANA)
    before = dict(await chat_row(rig, chat))
    r = await patch(rig, chat, body)
    assert r.status_code == 400, r.text
    assert error_paths(r) == paths
    assert dict(await chat_row(rig, chat)) == before


async def test_crm_data_over_64_kib_is_413(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(DANA)
    r = await patch(rig, chat, {"crmData": {"notes": "x" * 66_000}})
    assert r.status_code == 413 and r.json()["code"] == "crm_data_too_large"
    assert (await patch(rig, chat, {"crmData": {"notes": "x" * 60_000}})).status_code == 200
    r = await rig.client.post(f"{API}/chats/{chat}/crm-data", json={"data": {"more": "y" * 6_000}})
    assert r.status_code == 413
    assert len((await chat_row(rig, chat))["crm_data"]["notes"]) == 60_000 and "more" not in (await chat_row(rig, chat))["crm_data"]


# --- Update CRM Data ---------------------------------------------------------------------------


async def test_crm_data_merges_deeply(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(DANA)
    await patch(rig, chat, {"crmData": {"plan": "basic", "tags": ["new"], "customer": {"first_name": "N", "city": "TLV"},
                                        "aiTerminateReason": "Inactivity"}})
    example = {"data": {"plan": "premium", "tags": ["vip", "whale"],
                        "customer": {"first_name": "Niv", "last_name": "Shteingart", "lead_id": 641225}}}
    r = await rig.client.post(f"{API}/chats/{chat}/crm-data", json=example)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["_id"] == chat and body["channelInfo"]["id"] == DANA
    assert body["crmData"] == {
        "plan": "premium", "tags": ["vip", "whale"], "aiTerminateReason": "Inactivity",
        "customer": {"first_name": "Niv", "last_name": "Shteingart", "lead_id": 641225, "city": "TLV"},
    }
    r = await rig.client.post(f"{API}/chats/{chat}/crm-data", json={"data": {"aiTerminateReason": None, "customer": {"city": None}}})
    assert r.json()["crmData"] == {"plan": "premium", "tags": ["vip", "whale"],
                                   "customer": {"first_name": "Niv", "last_name": "Shteingart", "lead_id": 641225}}


@pytest.mark.parametrize(("body", "paths"), [({}, {"body.data"}), ({"data": [1]}, {"body.data"}),
                                             ({"data": {}, "merge": "deep"}, {"body.merge"})])
async def test_crm_data_bad_bodies(rig: WhatsAppRig, body: Any, paths: set[str]) -> None:
    chat = await rig.user_writes(DANA)
    r = await rig.client.post(f"{API}/chats/{chat}/crm-data", json=body)
    assert r.status_code == 400 and error_paths(r) == paths
    r = await rig.client.post(f"{API}/chats/0123456789abcdef01234567/crm-data", json={"data": {}})
    assert r.status_code == 404


# --- the renderings ------------------------------------------------------------------------------


async def test_every_rendering_carries_the_lifecycle_fields(rig: WhatsAppRig) -> None:
    await make_department(rig, "customer_service")
    tyler = await make_agent(rig, "tyler@example.com", "Tyler")
    chat = await rig.user_writes(DANA)
    await rig.client.post(f"{API}/chats/assign", json={"chatId": chat, "agentUid": tyler["uid"],
                                                       "departmentId": "customer_service"})
    await patch(rig, chat, {"displayName": "John from the gym", "crmData": {"leadId": 1},
                            "crmDeepLink": "https://crm.example/1"})
    await rig.client.post(f"{API}/chats/{chat}/resolve")
    full = await get_chat(rig, chat)
    assert full["agent"] == {"uid": tyler["uid"], "displayName": "Tyler"} and full["departmentId"] == "customer_service"
    assert full["status"] == 3 and full["displayName"] == "John from the gym" and full["crmData"] == {"leadId": 1}
    assert full["crmDeepLink"] == "https://crm.example/1" and full["externalBot"] is False
    assert isinstance(full["pendingUpdateTime"], int) and full["resolvedUpdateTime"] >= full["pendingUpdateTime"]
    public = (await rig.client.get(f"{API}/chats/{chat}")).json()
    assert public["agent"] == full["agent"] and public["departmentId"] == "customer_service" and public["status"] == 3
    assert public["pendingUpdateTime"] == full["pendingUpdateTime"]
    assert public["resolvedUpdateTime"] == full["resolvedUpdateTime"] and public["externalBot"] is False
    for hidden in ("_id", "labels", "crmData", "displayName", "crmDeepLink"):
        assert hidden not in public
    # a rename reaches the chats of the agent
    await rig.client.patch(f"{API}/agents/{tyler['uid']}", json={"displayName": "Tyler D."})
    assert (await get_chat(rig, chat))["agent"]["displayName"] == "Tyler D."
