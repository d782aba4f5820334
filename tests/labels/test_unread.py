"""`unreadCount` counts the contact's messages since an agent last read the chat; `POST
/chats/{chatId}/read` sets it to 0 and, when the channel account says so, sends WhatsApp's read
receipt for the last incoming message — after the commit, never failing the request. Every change
of the count is announced (`inboxd.chat.updated`)."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa

from inboxd.domain.scopes import Scope
from inboxd.store import tokens as tokens_store
from inboxd.store.tables import channel_accounts, messages
from tests.labels.conftest import API, record
from tests.support.wa import WhatsAppRig

DANA = "972521234567"


async def unread(rig: WhatsAppRig, chat_id: str) -> int:
    r = await rig.client.get(f"{API}/chats/{chat_id}")
    assert r.status_code == 200, r.text
    return r.json()["unreadCount"]


async def wait_unread(rig: WhatsAppRig, chat_id: str, count: int, within: float = 15.0) -> None:
    """The simulator's webhooks are asynchronous: wait until inboxd has counted `count`."""
    deadline = time.monotonic() + within
    while (got := await unread(rig, chat_id)) != count:
        assert time.monotonic() < deadline, f"unreadCount {got}, expected {count}"
        await asyncio.sleep(0.05)


async def read(rig: WhatsAppRig, chat_id: str) -> dict[str, object]:
    r = await rig.client.post(f"{API}/chats/{chat_id}/read")
    assert r.status_code == 200, r.text
    return r.json()


async def last_incoming_wamid(rig: WhatsAppRig, chat_id: str) -> str:
    async with rig.db.read() as conn:
        return (await conn.execute(
            sa.select(messages.c.external_id).where(messages.c.chat_id == chat_id, messages.c.direction == "incoming")
            .order_by(messages.c.timestamp.desc(), messages.c.id.desc()).limit(1))).scalar_one()


async def receipts(rig: WhatsAppRig) -> list[str]:
    return (await rig.control.get(f"/simulator/contacts/{DANA}")).json()["marked_read"]


async def test_unread_counts_since_the_last_read(rig: WhatsAppRig) -> None:
    published = record(rig.server)
    chat = await rig.user_writes(DANA, "one")
    await rig.user_writes(DANA, "two")
    await rig.user_writes(DANA, "three")
    await wait_unread(rig, chat, 3)
    # one notice per transaction that stored incoming messages (the processor may group them)
    notices = published.updated("unreadCount")
    assert set(notices) == {chat} and 1 <= len(notices) <= 3

    assert await read(rig, chat) == {"success": True, "unreadCount": 0, "readReceipt": "off"}
    assert await unread(rig, chat) == 0
    assert published.updated("unreadCount") == [*notices, chat]
    assert await read(rig, chat) == {"success": True, "unreadCount": 0, "readReceipt": "none"}  # nothing unread
    assert published.updated("unreadCount") == [*notices, chat]  # no change, no notice

    await rig.user_writes(DANA, "four")
    await wait_unread(rig, chat, 1)
    r = await rig.send(chat, {"type": "text", "text": "An answer does not read the chat"})
    assert r.status_code == 200
    assert await unread(rig, chat) == 1
    assert await receipts(rig) == []  # the account does not send read receipts


async def test_read_receipts_when_the_account_sends_them(rig: WhatsAppRig) -> None:
    async with rig.db.write() as conn:
        await conn.execute(channel_accounts.update().values(read_receipts=True))
    chat = await rig.user_writes(DANA, "one")
    await rig.user_writes(DANA, "two")
    await wait_unread(rig, chat, 2)
    assert await read(rig, chat) == {"success": True, "unreadCount": 0, "readReceipt": "sent"}
    assert await receipts(rig) == [await last_incoming_wamid(rig, chat)]
    assert (await read(rig, chat))["readReceipt"] == "none"
    assert len(await receipts(rig)) == 1

    await rig.user_writes(DANA, "three")
    await wait_unread(rig, chat, 1)
    await rig.fault(kind="http_500", count=1)  # Graph fails: the chat is read all the same
    assert await read(rig, chat) == {"success": True, "unreadCount": 0, "readReceipt": "failed"}
    assert await unread(rig, chat) == 0
    assert len(await receipts(rig)) == 1


async def test_bad_reads(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(DANA, "one")
    for chat_id in ("0123456789abcdef01234567", "nope"):
        r = await rig.client.post(f"{API}/chats/{chat_id}/read")
        assert r.status_code == 404 and r.json()["code"] == "chat_not_found"
    r = await rig.client.post(f"{API}/chats/{chat}/read", json={"unreadCount": 5, "all": True})
    assert r.status_code == 400 and [d["path"] for d in r.json()["details"]] == ["body.unreadCount", "body.all"]
    assert (await rig.client.post(f"{API}/chats/{chat}/read", json=[1])).status_code == 400
    assert await unread(rig, chat) == 1  # nothing written
    assert (await rig.client.post(f"{API}/chats/{chat}/read", json={})).status_code == 200
    async with rig.db.write() as conn:
        secret, _ = await tokens_store.create_token(conn, "lister", [Scope.LIST_ALL_CHATS])
    r = await rig.client.post(f"{API}/chats/{chat}/read", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403 and r.json()["details"] == [{"scope": "View all chats", "reason": "missing scope"}]
