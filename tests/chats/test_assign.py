"""Assign Chat (§5.4) and inboxd's Take Chat over HTTP: every way to name the chat and the
assignee, and every bad input answered with its field — with nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from inboxd.config import Settings
from inboxd.store import accounts as accounts_store
from inboxd.store.db import Database
from tests.chats.conftest import API, chat_row, error_paths, get_chat, make_agent, make_department, system_messages
from tests.support.server import LiveServer, start_server
from tests.support.wa import WhatsAppRig

DANA = "972521234567"


@pytest.fixture
async def live(events_settings: Settings, db: Database) -> AsyncIterator[LiveServer]:
    # the reference's example phone is national (0521234567): Israel's calling code
    async with start_server(events_settings.model_copy(update={"default_country_code": "972"}), db) as server:
        yield server


async def assign(rig: WhatsAppRig, body: Any) -> Any:
    return await rig.client.post(f"{API}/chats/assign", json=body)


async def test_the_reference_example_assigns_by_phone_and_email(rig: WhatsAppRig) -> None:
    demo = await make_agent(rig, "demo@texterchat.com", "Demo")
    chat = await rig.user_writes(DANA)
    r = await assign(rig, {"phone": "0521234567", "agentEmail": "demo@texterchat.com"})
    assert r.status_code == 200 and r.json() == "OK" and r.headers["content-type"] == "application/json"
    found = await get_chat(rig, chat)
    assert found["status"] == 1 and found["agent"] == {"uid": demo["uid"], "displayName": "Demo"}
    assert isinstance(found["pendingUpdateTime"], int) and found["pendingUpdateTime"] < 10_000_000_000  # seconds
    last = (await system_messages(rig, chat))[-1]
    assert (last["newChatStatus"], last["reason"], last["agent"]["uid"]) == (1, "assign", demo["uid"])
    assert last["changedBy"]["type"] == "apiToken" and last["changedBy"]["name"] == "rig"


async def test_every_assignee_form(rig: WhatsAppRig) -> None:
    await make_department(rig, "sales")
    await make_department(rig, "support")
    tyler = await make_agent(rig, "tyler@example.com", crmId="crm-7")
    noa = await make_agent(rig, "noa@example.com")
    chat = await rig.user_writes(DANA)

    async def after(body: dict[str, Any]) -> tuple[Any, Any, int]:
        r = await assign(rig, {"chatId": chat, **body})
        assert r.status_code == 200 and r.json() == "OK", r.text
        row = await chat_row(rig, chat)
        return row["agent_uid"], row["department_id"], row["status"]

    assert await after({"agentUid": tyler["uid"]}) == (tyler["uid"], None, 1)
    assert await after({"departmentId": "sales"}) == (None, "sales", 1)  # to the department: nobody in particular
    assert await after({"agentCrmId": "crm-7"}) == (tyler["uid"], "sales", 1)  # an agent alone keeps the department
    assert await after({"agentEmail": "NOA@example.com", "departmentId": "support"}) == (noa["uid"], "support", 1)
    assert await after({"departmentId": None}) == (None, None, 1)  # null clears it
    # a taken chat assigned again is PENDING for the new agent; a resolved one reopens the same way
    r = await rig.client.post(f"{API}/chats/{chat}/take", json={"agentUid": tyler["uid"]})
    assert r.status_code == 200 and r.json()["status"] == 2
    assert await after({"agentUid": noa["uid"].upper()}) == (noa["uid"], None, 1)
    assert (await rig.client.post(f"{API}/chats/{chat}/resolve")).status_code == 200
    assert await after({"agentUid": tyler["uid"]}) == (tyler["uid"], None, 1)
    # the same assignment again is no transition: no new system message
    count = len(await system_messages(rig, chat))
    assert await after({"agentUid": tyler["uid"]}) == (tyler["uid"], None, 1)
    assert len(await system_messages(rig, chat)) == count


async def test_a_phone_with_several_chats_needs_the_channel(rig: WhatsAppRig) -> None:
    tyler = await make_agent(rig, "tyler@example.com")
    chat = await rig.user_writes(DANA)
    async with rig.db.write() as conn:  # a second business number, where Dana has a chat too
        other = await accounts_store.add_whatsapp_account(
            conn, account_id="972509999999", phone_number_id="555", access_token="t", app_secret="s",
            verify_token="v", graph_url="http://127.0.0.1:9")
    from tests.support.seed import chat_with_messages

    second = await chat_with_messages(rig.db, other, DANA, texts=[(1_000, "hi")])
    r = await assign(rig, {"phone": "+972 52-123-4567", "agentUid": tyler["uid"]})
    assert r.status_code == 409 and r.json()["code"] == "ambiguous_chat"
    listed = {c["chatId"]: c["channel"] for c in r.json()["chats"]}
    assert listed == {chat: {"name": "whatsapp", "accountId": rig.account.account_id},
                      second: {"name": "whatsapp", "accountId": "972509999999"}}
    assert {d["path"] for d in r.json()["details"]} == {"body.channel"}
    r = await assign(rig, {"phone": "0521234567", "channel": {"name": "whatsapp", "accountId": "+972509999999"},
                           "agentUid": tyler["uid"]})
    assert r.status_code == 200, r.text
    assert (await chat_row(rig, second))["agent_uid"] == tyler["uid"]
    assert (await chat_row(rig, chat))["agent_uid"] is None
    r = await assign(rig, {"phone": DANA, "channel": {"name": "instagram", "accountId": "972509999999"},
                           "agentUid": tyler["uid"]})
    assert r.status_code == 404 and r.json()["code"] == "chat_not_found" and error_paths(r) == {"body.phone"}


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"agentEmail": "demo@texterchat.com"}, {"body.chatId"}),  # no chat
        ({"chatId": "CHAT", "phone": DANA, "agentEmail": "demo@texterchat.com"}, {"body.chatId", "body.phone"}),
        ({"chatId": "CHAT"}, {"body.agentUid"}),  # no assignee
        ({"chatId": "CHAT", "agentUid": "x", "agentEmail": "demo@texterchat.com"}, {"body.agentUid", "body.agentEmail"}),
        ({"phone": "not a phone", "agentEmail": "demo@texterchat.com"}, {"body.phone"}),
        ({"chatId": "CHAT", "agentEmail": 7, "departmentId": 3}, {"body.agentEmail", "body.departmentId"}),
        ({"chatId": "CHAT", "channel": {"name": "whatsapp", "accountId": "1"}, "agentEmail": "demo@texterchat.com"},
         {"body.channel"}),
        ({"phone": DANA, "channel": {"name": "fax"}, "agentEmail": "demo@texterchat.com"},
         {"body.channel.name", "body.channel.accountId"}),
        ({"chatId": "CHAT", "agentEmail": "demo@texterchat.com", "priority": "high"}, {"body.priority"}),
        (["chatId"], {"body"}),
    ],
)
async def test_bad_bodies_are_400_naming_every_field(rig: WhatsAppRig, body: Any, paths: set[str]) -> None:
    await make_agent(rig, "demo@texterchat.com")
    chat = await rig.user_writes(DANA)
    if isinstance(body, dict) and body.get("chatId") == "CHAT":
        body = {**body, "chatId": chat}
    before = len(await system_messages(rig, chat))
    r = await assign(rig, body)
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False and r.json()["code"] == "invalid_request" and error_paths(r) == paths
    assert len(await system_messages(rig, chat)) == before


async def test_unknown_and_inactive_references(rig: WhatsAppRig) -> None:
    tyler = await make_agent(rig, "tyler@example.com")
    gone = await make_agent(rig, "gone@example.com")
    await rig.client.patch(f"{API}/agents/{gone['uid']}", json={"active": False})
    chat = await rig.user_writes(DANA)
    before = (await chat_row(rig, chat))["updated_at"]

    cases = [
        ({"chatId": "0123456789abcdef01234567", "agentUid": tyler["uid"]}, 404, "chat_not_found", {"body.chatId"}),
        ({"phone": "972529999999", "agentUid": tyler["uid"]}, 404, "chat_not_found", {"body.phone"}),
        ({"chatId": chat, "agentEmail": "nobody@example.com"}, 404, "agent_not_found", {"body.agentEmail"}),
        ({"chatId": chat, "agentCrmId": "crm-none"}, 404, "agent_not_found", {"body.agentCrmId"}),
        ({"chatId": chat, "agentUid": "not-a-uid"}, 404, "agent_not_found", {"body.agentUid"}),
        ({"chatId": chat, "departmentId": "ghost"}, 404, "department_not_found", {"body.departmentId"}),
        ({"chatId": "0123456789abcdef01234567", "agentEmail": "x@y.z", "departmentId": "ghost"}, 404, "not_found",
         {"body.chatId", "body.agentEmail", "body.departmentId"}),
        ({"chatId": chat, "agentUid": gone["uid"]}, 400, "agent_inactive", {"body.agentUid"}),
    ]
    for body, status, code, paths in cases:
        r = await assign(rig, body)
        assert (r.status_code, r.json()["code"], error_paths(r)) == (status, code, paths), (body, r.text)
    assert (await chat_row(rig, chat))["updated_at"] == before  # nothing written


async def test_take(rig: WhatsAppRig) -> None:
    tyler = await make_agent(rig, "tyler@example.com", "Tyler")
    noa = await make_agent(rig, "noa@example.com")
    chat = await rig.user_writes(DANA)
    r = await rig.client.post(f"{API}/chats/{chat}/take")
    assert r.status_code == 400 and error_paths(r) == {"body.agentUid"}  # an API token names the agent
    r = await rig.client.post(f"{API}/chats/{chat}/take", json={"agentUid": tyler["uid"]})
    assert r.status_code == 200, r.text
    taken = r.json()
    assert taken["success"] is True and taken["_id"] == chat and taken["status"] == 2
    assert taken["agent"] == {"uid": tyler["uid"], "displayName": "Tyler"} and taken["lastMessage"]["text"] == "Hi"
    again = await rig.client.post(f"{API}/chats/{chat}/take", json={"agentUid": tyler["uid"]})
    assert again.status_code == 200  # already theirs: nothing changes
    r = await rig.client.post(f"{API}/chats/{chat}/take", json={"agentUid": noa["uid"]})
    assert r.status_code == 409 and r.json()["code"] == "chat_taken"
    r = await rig.client.post(f"{API}/chats/{chat}/take", json={"agentUid": "0b1c4b8e-8f3c-4b7a-9c53-6a5b0c1d2e3f"})
    assert r.status_code == 404 and r.json()["code"] == "agent_not_found"
    r = await rig.client.post(f"{API}/chats/0123456789abcdef01234567/take", json={"agentUid": tyler["uid"]})
    assert r.status_code == 404 and r.json()["code"] == "chat_not_found"
    r = await rig.client.post(f"{API}/chats/{chat}/take", json={"agentUid": tyler["uid"], "force": True})
    assert r.status_code == 400 and error_paths(r) == {"body.force"}
    other = await rig.user_writes("972521111111")
    assert (await rig.client.patch(f"{API}/chats/{other}", json={"externalBot": True})).status_code == 200
    r = await rig.client.post(f"{API}/chats/{other}/take", json={"agentUid": tyler["uid"]})
    assert r.status_code == 409 and r.json()["code"] == "external_bot_active"
    await rig.client.patch(f"{API}/agents/{noa['uid']}", json={"active": False})
    r = await rig.client.post(f"{API}/chats/{other}/take", json={"agentUid": noa["uid"]})
    assert r.status_code == 400 and r.json()["code"] == "agent_inactive"
    assert [m["reason"] for m in await system_messages(rig, chat)] == ["new_chat", "take"]
