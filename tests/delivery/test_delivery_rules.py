"""The delivery pipeline's rules against the simulator: pacing under the account's cap, the pair
rate limit pausing one chat only, giving up, credentials failures, failed statuses, restarts."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa

from inboxd import metrics
from inboxd.config import Settings
from inboxd.domain.clock import now_ms
from inboxd.domain.ids import new_id
from inboxd.simulator import create_simulator_app
from inboxd.store import chats as chats_store
from inboxd.store.db import Database
from inboxd.store.tables import channel_accounts, messages
from tests.support.server import serve_asgi, start_server
from tests.support.wa import WhatsAppRig, quick_simulator, whatsapp_rig


async def wait_for(check, within: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def message_row(rig: WhatsAppRig, message_id: str) -> dict:  # type: ignore[type-arg]
    async with rig.db.read() as conn:
        return dict((await conn.execute(sa.select(messages).where(messages.c.id == message_id))).mappings().one())


async def test_the_accounts_rate_is_paced_not_exceeded(rig: WhatsAppRig) -> None:
    async with rig.db.write() as conn:
        await conn.execute(channel_accounts.update().values(mps=20))
    await rig.control.patch("/simulator/config", json={"mps": 20})
    users = [f"97250100000{i}" for i in range(5)]
    chats = [await rig.user_writes(u) for u in users]
    throttled = metrics.outbound_sends.labels("throttled")._value.get()
    await asyncio.sleep(1.1)  # the simulator's bucket refills after the inbound traffic
    started = time.monotonic()
    for i in range(10):
        for chat in chats:
            r = await rig.send(chat, {"type": "text", "text": str(i)}, headers={"Prefer": "respond-async"})
            assert r.status_code == 202

    async def all_sent() -> bool:
        return sum([len(await rig.sent_to(u)) for u in users]) == 50

    await wait_for(all_sent, within=30)
    elapsed = time.monotonic() - started
    assert metrics.outbound_sends.labels("throttled")._value.get() == throttled  # never a 130429
    assert elapsed >= 2.0  # 50 messages at 20 per second (the bucket allows a first burst of 20)


async def test_pair_rate_limit_pauses_only_that_chat(rig: WhatsAppRig) -> None:
    slow, fast = "972501000001", "972501000002"
    slow_chat, fast_chat = await rig.user_writes(slow), await rig.user_writes(fast)
    await rig.fault(kind="graph_error", code=131056, recipient=slow, count=1)
    await rig.send(slow_chat, {"type": "text", "text": "first"}, headers={"Prefer": "respond-async"})
    await rig.send(slow_chat, {"type": "text", "text": "second"}, headers={"Prefer": "respond-async"})
    await rig.send(fast_chat, {"type": "text", "text": "meanwhile"}, headers={"Prefer": "respond-async"})

    async def fast_done() -> bool:
        return len(await rig.sent_to(fast)) == 1

    await wait_for(fast_done, within=5)
    assert await rig.sent_to(slow) == []  # waiting out the pair limit, in order

    async def slow_done() -> bool:
        return len(await rig.sent_to(slow)) == 2

    await wait_for(slow_done, within=15)
    assert [m["payload"]["text"]["body"] for m in await rig.sent_to(slow)] == ["first", "second"]


async def test_attempts_exhausted_is_channel_failed(settings: Settings, db: Database) -> None:
    cfg = settings.model_copy(update={"delivery_max_attempts": 2, "delivery_retry_max_seconds": 0.2})
    async with start_server(cfg, db) as live, whatsapp_rig(live, db) as rig:
        chat = await rig.user_writes("972501000003")
        await rig.fault(kind="http_503", count=5)
        r = await rig.send(chat, {"type": "text", "text": "doomed"})
        assert r.status_code == 502, r.text
        [message] = r.json()["messages"]
        assert message["status"] == 5 and "gave up after 2 attempts" in message["error"]["message"]
        assert await rig.sent_to("972501000003") == []


async def test_bad_credentials_fail_at_once_as_channel_failed(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes("972501000004")
    await rig.fault(kind="graph_error", code=190, http_status=401, count=1)
    started = time.monotonic()
    r = await rig.send(chat, {"type": "text", "text": "x"})
    assert r.status_code == 502 and time.monotonic() - started < 3
    assert r.json()["messages"][0]["status"] == 5 and r.json()["messages"][0]["error"]["code"] == 190


async def test_invalid_recipient_fails_through_the_status_webhook(rig: WhatsAppRig) -> None:
    user = "972501000005"
    chat = await rig.user_writes(user)
    r = await rig.control.put("/simulator/invalid-recipients", json={"recipients": [user]})
    assert r.status_code == 200
    r = await rig.send(chat, {"type": "text", "text": "x"})
    assert r.status_code == 200  # WhatsApp accepted the call; the failure comes as a webhook
    message_id = r.json()["messages"][0]["_id"]

    async def failed() -> dict | None:  # type: ignore[type-arg]
        row = await message_row(rig, message_id)
        return row if row["status"] == 4 else None

    row = await wait_for(failed)
    assert row["error"]["code"] == 131026


async def test_accepted_messages_survive_a_restart(settings: Settings, db: Database) -> None:
    user = "972501000006"
    sim = quick_simulator()
    idle = settings.model_copy(update={"workers": 0})  # accepts, never delivers
    async with start_server(idle, db) as live, whatsapp_rig(live, db, sim) as rig:
        r = await rig.control.post("/simulator/inbound", json={"from": user, "text": {"body": "hi"}})
        assert r.status_code == 200
        async with db.write() as conn:  # nobody processes inbound either: open the window by hand
            chat = await chats_store.ensure_chat(conn, chat_id=new_id(), channel_account_id=rig.account.id,
                                                 contact_id=user, title=None, now=now_ms())
            await chats_store.record_incoming(conn, chat, timestamp=now_ms(), preview={"type": "text"}, now=now_ms())
        r = await rig.send(chat, {"type": "text", "text": "kept"}, headers={"Prefer": "respond-async"})
        assert r.status_code == 202
        await asyncio.sleep(0.5)
        assert await rig.sent_to(user) == []
    async with start_server(settings, db) as live:
        sim.config.callback_url = f"{live.url}/webhooks/whatsapp"
        async with serve_asgi(create_simulator_app(sim)) as (sim_url, _):
            async with db.write() as conn:
                await conn.execute(channel_accounts.update().values(graph_url=sim_url))
            live.services.wake_delivery()  # type: ignore[union-attr]

            async def delivered() -> bool:
                contact = sim.contacts.get(user)
                return contact is not None and len(contact.sent) == 1

            await wait_for(delivered)
