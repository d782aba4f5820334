"""Every "(SUB)" template of the reference (§10.2, as files in tests/events/templates) imports,
and fires on exactly the events its conditions select, with the documented `eventData`.

Message events run end to end: a simulated WhatsApp user writes (text, a keyword, an image), the
business answers through Send a Message, the simulator reports sent/delivered/read, one send
fails at the recipient (status 4) and one at the channel (status 5). Here the chat triggers are
published on the domain event bus directly (each template's conditions, whatever raises them);
tests/chats/test_lifecycle_events.py raises them through the chat lifecycle's endpoints."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from inboxd.config import Settings
from inboxd.domain_events import CHAT_SUBSCRIBED, CHAT_UNSUBSCRIBED
from inboxd.events.signing import verify
from inboxd.store.db import Database
from tests.events.conftest import API, TEMPLATE_NAMES, Receiver, subscribe, template
from tests.support.server import LiveServer
from tests.support.wa import WhatsAppRig, whatsapp_rig

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
WORDS = {"word1": "help", "word2": "stop", "targetLabelId": "vip"}


@pytest.fixture
async def rig(live: LiveServer, db: Database) -> AsyncIterator[WhatsAppRig]:
    async with whatsapp_rig(live, db) as wa:
        yield wa


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
async def test_every_template_imports(api: httpx.AsyncClient, receiver: Receiver, name: str) -> None:
    sent = template(name, receiver.url, **WORDS)
    r = await api.post(f"{API}/scenarios/manage/import", json=sent)
    assert r.status_code == 201, r.text
    body = r.json()
    revision = body["activeRevision"]
    assert body["_id"] == revision["scenarioId"] and body["system"] is False
    assert body["inactiveRevisions"] == [] and body["drafts"] == []
    assert revision["name"] == sent["data"]["name"] and revision["status"] == "active" and revision["version"] == 1
    assert revision["triggerEvents"] == sent["data"]["triggerEvents"]
    assert revision["conditions"] == sent["data"]["conditions"]
    assert revision["actions"][0]["params"]["data"] == sent["data"]["actions"][0]["params"]["data"]
    assert body["signingSecret"].startswith("whsec_")

    listed = (await api.get(f"{API}/scenarios/manage")).json()
    assert listed["total"] == 1
    assert listed["scenarios"][0]["_id"] == body["_id"] and "signingSecret" not in listed["scenarios"][0]


async def _subscribe_all(api: httpx.AsyncClient, receiver: Receiver, names: list[str]) -> dict[str, str]:
    """Each template to its own path of the receiver; the signing secrets by path."""
    secrets = {}
    for name in names:
        body = await subscribe(api, name, f"{receiver.url}/{name}", **WORDS)
        secrets[f"/hooks/{name}"] = body["signingSecret"]
    return secrets


def _by(receiver: Receiver, name: str) -> list[dict[str, Any]]:
    return [r.body for r in receiver.requests if r.path == f"/hooks/{name}"]


async def test_message_templates_fire_on_exactly_what_they_select(
    api: httpx.AsyncClient, receiver: Receiver, rig: WhatsAppRig
) -> None:
    names = ["all-messages", "new-incoming-messages", "messages-with-specific-text", "messages-with-attachments",
             "messages-failed-to-deliver", "message-status-changed"]
    secrets = await _subscribe_all(api, receiver, names)

    dana = "972521000001"
    chat = await rig.user_writes(dana, "help", name="Dana")
    await rig.user_writes(dana, "hello")
    await rig.user_writes(dana, "Help")  # not the word: the match is exact
    r = await rig.control.post("/simulator/inbound", json={
        "from": dana, "image": {"data": base64.b64encode(PNG).decode(), "caption": "a dot"}})
    assert r.status_code == 200, r.text
    await receiver.wait_for(4, event_name="newMessage")  # the simulator's webhooks are asynchronous
    r = await rig.send(chat, {"type": "text", "text": "How can I help?"})
    assert r.status_code == 200, r.text
    reply = r.json()["messages"][0]

    # 4 incoming + 1 outgoing; then sent, delivered, read for the reply
    await receiver.wait_for(5, event_name="newMessage")
    await receiver.wait_for(3, event_name="messageStatusChanged")

    omer = "972521000002"
    refused_chat = await rig.user_writes(omer, "stop")
    await receiver.wait_for(6, event_name="newMessage")
    r = await rig.control.put("/simulator/invalid-recipients", json={"recipients": [omer]})
    assert r.status_code == 200
    r = await rig.send(refused_chat, {"type": "text", "text": "You will not get this"})
    assert r.status_code == 200, r.text
    await rig.fault(kind="graph_error", code=190, http_status=401, count=1)
    r = await rig.send(refused_chat, {"type": "text", "text": "Nor this"})
    assert r.status_code == 502, r.text
    channel_failed = r.json()["messages"][0]

    await receiver.wait_for(2, event_name="messageFailed")
    await receiver.settle()

    # every delivery is signed with its subscription's secret
    for item in receiver.requests:
        assert verify(secrets[item.path], item.raw, item.signature)

    everything = _by(receiver, "all-messages")
    texts = [e["eventData"]["message"].get("text") for e in everything]
    assert texts == ["help", "hello", "Help", None, "How can I help?", "stop", "You will not get this", "Nor this"]
    assert {e["eventName"] for e in everything} == {"newMessage"}
    first = everything[0]["eventData"]
    assert first["message"]["direction"] == "incoming" and first["message"]["parent_chat"] == chat
    assert first["message"]["chatChannelInfo"] == {"name": "whatsapp", "id": dana, "accountId": rig.account.account_id}
    assert first["chat"]["_id"] == chat and first["chat"]["channelInfo"]["id"] == dana and first["chat"]["title"] == "Dana"
    outgoing = everything[4]["eventData"]["message"]
    assert outgoing["direction"] == "outgoing" and outgoing["_id"] == reply["_id"] and outgoing["status"] == 0

    incoming = _by(receiver, "new-incoming-messages")
    assert [e["eventData"]["message"].get("text") for e in incoming] == ["help", "hello", "Help", None, "stop"]
    assert all(e["eventName"] == "newIncomingMessage" and e["eventData"]["chat"]["_id"] for e in incoming)

    matched = _by(receiver, "messages-with-specific-text")
    assert [(e["eventName"], e["eventData"]["message"]["text"]) for e in matched] == [
        ("newMatchedMessage", "help"), ("newMatchedMessage", "stop")]

    media = _by(receiver, "messages-with-attachments")
    assert len(media) == 1 and media[0]["eventName"] == "newMediaMessage"
    item = media[0]["eventData"]["message"]["media"][0]
    assert item["mediaType"] == "image" and len(item["fileId"]) == 24 and item["caption"] == "a dot"
    assert media[0]["eventData"]["chat"]["_id"] == chat

    statuses = _by(receiver, "message-status-changed")
    assert [e["eventData"]["messageStatus"] for e in statuses] == [1, 2, 3, 4, 5]
    for e in statuses:
        data = e["eventData"]
        assert e["eventName"] == "messageStatusChanged"
        assert set(data) == {"chat", "messageStatus", "error", "timestamp", "externalId"}
        assert isinstance(data["timestamp"], int) and data["timestamp"] > 1_600_000_000_000
        assert isinstance(data["externalId"], list)
        assert (data["error"] is not None) == (data["messageStatus"] in (4, 5))
    assert statuses[0]["eventData"]["externalId"] == [reply["channelInfo"]["id"]]
    assert statuses[0]["eventData"]["chat"]["_id"] == chat and statuses[3]["eventData"]["chat"]["_id"] == refused_chat
    assert statuses[3]["eventData"]["error"]["code"] == 131026 and statuses[4]["eventData"]["error"]["code"] == 190
    assert statuses[4]["eventData"]["externalId"] == []  # never reached WhatsApp: no wamid

    failed = _by(receiver, "messages-failed-to-deliver")
    assert [e["eventName"] for e in failed] == ["messageFailed", "messageFailed"]
    assert [e["eventData"]["error"]["code"] for e in failed] == [131026, 190]
    for e in failed:
        assert set(e["eventData"]) == {"chat", "error", "timestamp", "externalId"}
        assert e["eventData"]["chat"]["_id"] == refused_chat
    assert channel_failed["status"] == 5


async def _publish(live: LiveServer, db: Database, name: str, **data: Any) -> None:
    assert live.services is not None
    async with db.write() as conn:
        await live.services.events.publish(conn, name, **data)


async def test_chat_templates_fire_when_their_events_are_published(
    api: httpx.AsyncClient, receiver: Receiver, rig: WhatsAppRig, live: LiveServer, db: Database
) -> None:
    names = ["chat-subscribed", "chat-unsubscribed", "chat-assigned", "chat-pending", "chat-resolved",
             "chat-resolved-by-agent", "chat-resolved-by-bot", "chat-labels-updated", "specific-label-added",
             "external-bot-enabled", "external-bot-disabled"]
    await _subscribe_all(api, receiver, names)
    chat = await rig.user_writes("972521000003", "hi", name="Noa")
    await receiver.wait_for(1)  # the new chat is pending (the lifecycle raises it)
    assert receiver.requests[0].path == "/hooks/chat-pending"
    receiver.requests.clear()

    await _publish(live, db, CHAT_UNSUBSCRIBED, chat_id=chat)
    await _publish(live, db, CHAT_SUBSCRIBED, chat_id=chat)
    agent = {"_id": "u-1", "crmId": "crm-7", "email": "tyler@example.com", "displayName": "Tyler", "roles": ["agent"]}
    await _publish(live, db, "domain.chat.assigned", chat_id=chat, agent=agent)
    await _publish(live, db, "domain.chat.pending", chat_id=chat)
    await _publish(live, db, "domain.chat.resolved", chat_id=chat)  # unassigned: by the bot
    await _publish(live, db, "domain.chat.labels", chat_id=chat, old_labels=["a"], added_labels=["b"], removed_labels=[])
    await _publish(live, db, "domain.chat.labels", chat_id=chat, old_labels=["b"], added_labels=["vip"],
                   removed_labels=["b"])
    await _publish(live, db, "domain.chat.updated.externalBot", chat_id=chat)  # externalBot is false
    await receiver.wait_for(9)
    await receiver.settle()

    def one(name: str) -> dict[str, Any]:
        got = _by(receiver, name)
        assert len(got) == 1, (name, got)
        return got[0]

    assert one("chat-unsubscribed")["eventName"] == "chatUnsubscribed"
    assert one("chat-subscribed")["eventData"]["chat"]["_id"] == chat
    assigned = one("chat-assigned")
    assert assigned["eventName"] == "chatAssigned"
    assert assigned["eventData"]["agent"] == {"id": "u-1", "crmId": "crm-7", "email": "tyler@example.com",
                                              "displayName": "Tyler", "roles": ["agent"]}
    assert one("chat-pending")["eventData"]["chat"]["title"] == "Noa"
    assert one("chat-resolved")["eventName"] == "chatResolved"
    assert one("chat-resolved-by-bot")["eventName"] == "chatResolvedByBot"
    assert _by(receiver, "chat-resolved-by-agent") == []
    updates = _by(receiver, "chat-labels-updated")
    assert [(u["eventData"]["oldLabels"], u["eventData"]["addedLabels"], u["eventData"]["removedLabels"])
            for u in updates] == [(["a"], ["b"], []), (["b"], ["vip"], ["b"])]
    assert one("specific-label-added")["eventData"]["addedLabels"] == ["vip"]
    assert one("external-bot-disabled")["eventName"] == "externalBotDisabled"
    assert _by(receiver, "external-bot-enabled") == []
    assert len(receiver.requests) == 10

    # Assigned and with the external bot on, the other branch of each pair fires.
    from inboxd.store.tables import chats

    async with db.write() as conn:
        await conn.execute(chats.update().where(chats.c.id == chat).values(agent_uid="u-1", external_bot=True))
    await _publish(live, db, "domain.chat.resolved", chat_id=chat)
    await _publish(live, db, "app.bot.chat.setExternal", chat_id=chat)
    await receiver.wait_for(13)
    await receiver.settle()
    assert one("chat-resolved-by-agent")["eventData"]["chat"]["agent"]["uid"] == "u-1"
    assert one("external-bot-enabled")["eventData"]["chat"]["externalBot"] is True
    assert len(_by(receiver, "chat-resolved")) == 2 and len(_by(receiver, "chat-resolved-by-bot")) == 1


async def test_channel_health_templates_fire_with_the_problem(
    api: httpx.AsyncClient, receiver: Receiver, live: LiveServer, db: Database
) -> None:
    await _subscribe_all(api, receiver, ["channel-health-problem-created", "channel-health-problem-resolved"])
    problem = {"_id": "68cc1241bafffd81d455e788", "channel": "whatsapp", "accountId": "972586503100",
               "name": "whatsapp_business_has_limited_messaging_availability", "severity": "error",
               "impairedFunctionality": {"send": True, "receive": False},
               "message": "The Business has not passed business verification.", "createdAt": 1758204481268,
               "startedAt": 1758204400000}
    await _publish(live, db, "domain.channel.health.problem.created", problem=problem)
    await _publish(live, db, "domain.channel.health.problem.resolved", problem={**problem, "resolvedAt": 1758205000000})
    await receiver.wait_for(2)
    await receiver.settle()
    assert _by(receiver, "channel-health-problem-created") == [
        {"eventName": "channelHealthProblemCreated", "eventData": {"problem": problem}}]
    assert _by(receiver, "channel-health-problem-resolved")[0]["eventData"]["problem"]["resolvedAt"] == 1758205000000


async def test_a_failing_change_raises_no_event(
    api: httpx.AsyncClient, receiver: Receiver, rig: WhatsAppRig, live: LiveServer, db: Database,
    events_settings: Settings,
) -> None:
    """The delivery row is written in the change's transaction: a change that rolls back leaves
    nothing to deliver."""
    await _subscribe_all(api, receiver, ["chat-pending"])
    chat = await rig.user_writes("972521000004", "hi")
    await receiver.wait_for(1)  # the new chat is pending
    receiver.requests.clear()
    assert live.services is not None
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await live.services.events.publish(conn, "domain.chat.pending", chat_id=chat)
            raise RuntimeError("the change failed")
    await _publish(live, db, "domain.chat.pending", chat_id=chat)
    await receiver.wait_for(1)
    await receiver.settle()
    assert len(receiver.requests) == 1
