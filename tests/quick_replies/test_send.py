"""Sending a quick reply into a chat (`POST /quick-replies/{id}/send/{chatId}`), end to end through
the outbox and the real adapter to the simulator: in order, `betweenMessagesDelay` apart, with
Send a Message's window, idempotency and order — and the gap kept across a crash."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from inboxd.config import Settings
from inboxd.domain.scopes import Scope
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from inboxd.store.tables import messages, outbox
from tests.support.server import start_server
from tests.support.wa import WhatsAppRig, whatsapp_rig

API = "/server/api/v2"


@pytest.fixture
async def rig(settings: Settings, db: Database) -> AsyncIterator[WhatsAppRig]:
    async with start_server(settings.model_copy(update={"media_allow_private_urls": True}), db) as live, \
            whatsapp_rig(live, db) as wa:
        yield wa


async def make(rig: WhatsAppRig, *contents: dict[str, Any], delay: int | None = None,
               target: list[dict[str, Any]] | None = None) -> str:
    send: dict[str, Any] = {"contents": list(contents),
                            "target": target or [{"name": "whatsapp", "accountId": rig.account.account_id}]}
    if delay is not None:
        send["betweenMessagesDelay"] = delay
    r = await rig.client.post(f"{API}/quick-replies", json={"send": send, "display": {"title": "t"}})
    assert r.status_code == 200, r.text
    return r.json()["_id"]


async def send(rig: WhatsAppRig, quick_reply: str, chat: str, **kwargs: Any) -> httpx.Response:
    return await rig.client.post(f"{API}/quick-replies/{quick_reply}/send/{chat}", **kwargs)


async def wait_sent(rig: WhatsAppRig, wa_id: str, count: int, within: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while True:
        sent = await rig.sent_to(wa_id)
        if len(sent) >= count:
            return sent
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(sent)} of {count} messages reached the simulator")
        await asyncio.sleep(0.05)


async def test_two_contents_arrive_in_order_the_delay_apart(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes("972521000201", "menu?")
    qr = await make(rig, {"type": "text", "text": "Here is the menu"},
                    {"type": "buttons", "text": "Anything else?", "buttons": [{"title": "No", "payload": "no"}]},
                    delay=1200)
    r = await send(rig, qr, chat)
    assert r.status_code == 200, r.text
    shaped = r.json()["messages"]
    assert [m["type"] for m in shaped] == ["text", "buttons"] and all(m["parent_chat"] == chat for m in shaped)
    assert shaped[0]["text"] == "Here is the menu" and shaped[1]["buttons"] == [{"title": "No", "payload": "no"}]
    first, second = await wait_sent(rig, "972521000201", 2)
    assert first["payload"]["text"]["body"] == "Here is the menu"
    assert second["payload"]["interactive"]["body"]["text"] == "Anything else?"
    assert second["accepted_at"] - first["accepted_at"] >= 1.2
    assert [m["channelInfo"]["id"] for m in shaped] == [first["id"], second["id"]]


async def test_media_contents_are_one_message_per_item(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes("972521000202", "photos?")
    r = await rig.client.post(f"{API}/files", files={"file": ("dot.png", _PNG, "image/png")})
    file_id = r.json()["fileId"]
    qr = await make(rig, {"type": "media", "media": [{"mediaType": "image", "fileId": file_id, "caption": "one"},
                                                      {"mediaType": "image", "fileId": file_id, "caption": "two"}]},
                    {"type": "text", "text": "three"}, delay=300)
    r = await send(rig, qr, chat)
    assert r.status_code == 200, r.text
    sent = await wait_sent(rig, "972521000202", 3)
    assert [s["payload"].get("image", {}).get("caption") or s["payload"]["text"]["body"] for s in sent] == \
        ["one", "two", "three"]
    assert all(b["accepted_at"] - a["accepted_at"] >= 0.3 for a, b in zip(sent, sent[1:], strict=False))


async def test_outside_the_window_nothing_is_sent(rig: WhatsAppRig, db: Database) -> None:
    chat = await rig.user_writes("972521000203", "hi", timestamp=int(time.time()) - 25 * 3600)
    qr = await make(rig, {"type": "text", "text": "a"}, {"type": "text", "text": "b"}, delay=100)
    r = await send(rig, qr, chat)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "session_window_closed" and "template" in r.json()["hint"]
    async with db.read() as conn:
        count = (await conn.execute(
            sa.select(sa.func.count()).select_from(messages).where(messages.c.chat_id == chat,
                                                                   messages.c.direction == "outgoing"))).scalar_one()
    assert count == 0 and await rig.sent_to("972521000203") == []


async def test_a_quick_reply_for_another_account_or_chat_is_refused(rig: WhatsAppRig, db: Database) -> None:
    from inboxd.store import accounts as accounts_store

    async with db.write() as conn:
        await accounts_store.add_whatsapp_account(conn, account_id="972500000001", phone_number_id="9001",
                                                  access_token="t", app_secret="s", verify_token="v",
                                                  graph_url="http://127.0.0.1:9")
    chat = await rig.user_writes("972521000204", "hi")
    other_chat = await rig.user_writes("972521000205", "hi")
    elsewhere = await make(rig, {"type": "text", "text": "x"}, target=[{"name": "whatsapp", "accountId": "972500000001"}])
    r = await send(rig, elsewhere, chat)
    assert r.status_code == 422 and r.json()["code"] == "quick_reply_not_for_chat"
    assert f"does not target the whatsapp account {rig.account.account_id}" in r.json()["error"]
    assert (r.json()["accountId"], r.json()["chatId"]) == (rig.account.account_id, chat)
    only_other = await make(rig, {"type": "text", "text": "x"},
                            target=[{"name": "whatsapp", "accountId": rig.account.account_id, "id": other_chat}])
    r = await send(rig, only_other, chat)
    assert r.status_code == 422 and "only for other chats" in r.json()["error"]
    r = await send(rig, only_other, other_chat)
    assert r.status_code == 200, r.text
    assert await rig.sent_to("972521000204") == []


async def test_idempotency(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes("972521000206", "hi")
    qr = await make(rig, {"type": "text", "text": "once"}, {"type": "text", "text": "only"})
    other = await make(rig, {"type": "text", "text": "other"})
    first = await send(rig, qr, chat, json={"tmpSendId": "crm-7"})
    assert first.status_code == 200, first.text
    again = await send(rig, qr, chat, json={"tmpSendId": "crm-7"})
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert [m["_id"] for m in again.json()["messages"]] == [m["_id"] for m in first.json()["messages"]]
    assert all(m["tmpSendId"] == "crm-7" for m in first.json()["messages"])
    header = await send(rig, qr, chat, headers={"Idempotency-Key": "crm-7"})
    assert header.headers.get("Idempotent-Replay") == "true"
    clash = await send(rig, other, chat, json={"tmpSendId": "crm-7"})
    assert clash.status_code == 409 and clash.json()["code"] == "idempotency_key_reused"
    await wait_sent(rig, "972521000206", 2)
    assert [s["payload"]["text"]["body"] for s in await rig.sent_to("972521000206")] == ["once", "only"]


async def test_respond_async_and_bad_requests(rig: WhatsAppRig, db: Database) -> None:
    chat = await rig.user_writes("972521000207", "hi")
    qr = await make(rig, {"type": "text", "text": "async"})
    r = await send(rig, qr, chat, headers={"Prefer": "respond-async"})
    assert r.status_code == 202 and r.json()["messages"][0]["status"] == 0
    for body, path in (([], "body"), ({"tmpSendId": ""}, "body.tmpSendId"), ({"text": "x"}, "body.text")):
        r = await send(rig, qr, chat, json=body)
        assert r.status_code == 400 and r.json()["details"][0]["path"] == path
    r = await send(rig, "0" * 24, chat)
    assert r.status_code == 404 and r.json()["code"] == "quick_reply_not_found"
    r = await send(rig, qr, "0" * 24)
    assert r.status_code == 404 and r.json()["code"] == "chat_not_found"
    async with db.write() as conn:
        secret, _ = await tokens_store.create_token(conn, "viewer", [Scope.VIEW_QUICK_REPLIES])
    r = await rig.client.post(f"{API}/quick-replies/{qr}/send/{chat}", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403 and r.json()["details"][0]["scope"] == "Send session message"


async def test_the_delay_survives_a_crash_between_contents(settings: Settings, db: Database) -> None:
    """No worker in the server: the messages are accepted (both in the outbox, one transaction).
    One worker sends the first and dies; the gap is in the database (the second's due time), so
    a new worker — another process after a restart — sends the second no sooner, and not lost."""
    async with start_server(settings.model_copy(update={"workers": 0}), db) as live, whatsapp_rig(live, db) as rig:
        assert live.services is not None
        stop = asyncio.Event()
        inbound = asyncio.create_task(live.services.inbound.run(stop))  # only the inbound side runs
        chat = await rig.user_writes("972521000208", "hi")
        stop.set()
        await inbound
        qr = await make(rig, {"type": "text", "text": "first"}, {"type": "text", "text": "second"}, delay=1500)
        r = await send(rig, qr, chat, headers={"Prefer": "respond-async"})
        assert r.status_code == 202
        async with db.read() as conn:
            rows = (await conn.execute(sa.select(outbox).order_by(outbox.c.seq))).mappings().all()
        assert [row["next_gap_ms"] for row in rows] == [1500, None]

        crashed = live.services.new_delivery_worker()
        await crashed.run_once()
        [first_sent] = await wait_sent(rig, "972521000208", 1)
        deadline = time.monotonic() + 20
        while len(rows := (await _outbox_rows(db))) != 1:  # the first's record commits just after Graph answered
            assert time.monotonic() < deadline, rows
            await asyncio.sleep(0.02)
        # due a gap after the first left the outbox (which was after Graph accepted it); inboxd's
        # clock is whole milliseconds, the simulator's a float: compared at the millisecond
        assert rows[0]["due_at"] >= _ms(first_sent["accepted_at"]) + 1500
        del crashed

        restarted = live.services.new_delivery_worker()
        await restarted.run_once()  # too early: not claimed
        assert len(await rig.sent_to("972521000208")) == 1
        await restarted.drain(timeout=20)
        first, second_sent = await wait_sent(rig, "972521000208", 2)
        assert second_sent["payload"]["text"]["body"] == "second"
        assert _ms(second_sent["accepted_at"]) - _ms(first["accepted_at"]) >= 1500


def _ms(seconds: float) -> int:
    """The simulator's float clock as inboxd's whole milliseconds (its `now_ms`)."""
    return math.floor(seconds * 1000)


async def _outbox_rows(db: Database) -> list[Any]:
    async with db.read() as conn:
        return list((await conn.execute(sa.select(outbox))).mappings().all())


_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                     "1f15c4890000000d49444154789c6360f8cf0000030101009a4b1b0e0000000049454e44ae426082")

