"""A message that fails puts the system label `failed_message` on its chat, on every path that
records a failure: the delivery worker (a recipient refusal: status 4; our credentials: status 5),
a `failed` status webhook after WhatsApp accepted the message, and a template send. Once there,
a second failure changes nothing."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa

from inboxd.store.db import Database
from inboxd.store.tables import chats, messages
from tests.labels.conftest import API, Published, record
from tests.support.wa import WhatsAppRig
from tests.templates.conftest import approved_template, send_template


async def labels_of(db: Database, chat_id: str) -> list[str]:
    async with db.read() as conn:
        return (await conn.execute(sa.select(chats.c.labels).where(chats.c.id == chat_id))).scalar_one()


async def wait_labels(db: Database, chat_id: str, want: list[str], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while (got := await labels_of(db, chat_id)) != want:
        assert time.monotonic() < deadline, f"labels {got}, expected {want}"
        await asyncio.sleep(0.05)


async def wait_status(db: Database, message_id: str, status: int, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while True:
        async with db.read() as conn:
            got = (await conn.execute(sa.select(messages.c.status).where(messages.c.id == message_id))).scalar_one()
        if got == status:
            return
        assert time.monotonic() < deadline, f"status {got}, expected {status}"
        await asyncio.sleep(0.05)


def failed_labels(published: Published, chat_id: str) -> list[tuple[list[str], list[str]]]:
    return [(old, added) for c, old, added, _ in published.labels() if c == chat_id]


async def test_a_refused_send_labels_the_chat_once(rig: WhatsAppRig) -> None:
    published = record(rig.server)
    chat = await rig.user_writes("972521000002", "hi")
    r = await rig.client.post(f"{API}/labels", json={"id": "VIP", "name": "VIP"})
    assert r.status_code == 200
    assert (await rig.client.post(f"{API}/chats/{chat}/labels", json={"add": ["VIP"]})).status_code == 200

    await rig.fault(kind="graph_error", code=131026, http_status=400, count=1)  # the recipient cannot receive it
    r = await rig.send(chat, {"type": "text", "text": "You will not get this"})
    assert r.json()["messages"][0]["status"] == 4, r.text
    assert await labels_of(rig.db, chat) == ["VIP", "failed_message"]

    await rig.fault(kind="graph_error", code=190, http_status=401, count=1)
    r = await rig.send(chat, {"type": "text", "text": "Nor this"})
    assert r.status_code == 502 and r.json()["messages"][0]["status"] == 5
    assert await labels_of(rig.db, chat) == ["VIP", "failed_message"]  # there already: no change
    assert failed_labels(published, chat) == [([], ["VIP"]), (["VIP"], ["failed_message"])]

    found = (await rig.client.get(f"{API}/chats/search", params={"labels[]": "failed_message"})).json()
    assert [c["_id"] for c in found["data"]] == [chat]


async def test_a_channel_failure_labels_the_chat(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes("972521000003", "hi")
    await rig.fault(kind="graph_error", code=190, http_status=401, count=1)
    r = await rig.send(chat, {"type": "text", "text": "Our token is bad"})
    assert r.status_code == 502 and r.json()["messages"][0]["status"] == 5
    assert await labels_of(rig.db, chat) == ["failed_message"]


async def test_a_failed_status_webhook_labels_the_chat(rig: WhatsAppRig) -> None:
    """WhatsApp accepted the message, then reported it failed (a status webhook)."""
    published = record(rig.server)
    wa_id = "972521000004"
    chat = await rig.user_writes(wa_id, "hi")
    r = await rig.control.put("/simulator/invalid-recipients", json={"recipients": [wa_id]})
    assert r.status_code == 200
    r = await rig.send(chat, {"type": "text", "text": "Accepted, then failed"})
    assert r.status_code == 200, r.text
    message = r.json()["messages"][0]
    assert message["channelInfo"]["id"].startswith("wamid.")
    await wait_status(rig.db, message["_id"], 4)
    await wait_labels(rig.db, chat, ["failed_message"])
    assert failed_labels(published, chat) == [([], ["failed_message"])]


async def test_a_sent_message_leaves_the_chat_unlabelled(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes("972521000005", "hi")
    r = await rig.send(chat, {"type": "text", "text": "Fine"})
    assert r.status_code == 200
    await wait_status(rig.db, r.json()["messages"][0]["_id"], 3)
    assert await labels_of(rig.db, chat) == []


async def test_a_failed_template_send_labels_the_chat(rig: WhatsAppRig) -> None:
    """Template sends take the delivery outbox too: the same worker path records the refusal."""
    template = await approved_template(rig, body_text="Your order is ready")
    await rig.fault(kind="graph_error", code=131026, http_status=400, count=1)
    r = await send_template(rig, {"templateName": template["name"], "to": "972521000006"})
    body = r.json()
    assert body["messages"][0]["status"] == 4, r.text
    assert await labels_of(rig.db, body["chatId"]) == ["failed_message"]
