"""Benchmark fixes on the delivery side: the accepted sends' records written together
(`attach_external_ids`, `finish_many`) give what recording them one by one gives, and one poller
serves every waiting Send a Message request."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from inboxd.delivery.waiters import DeliveryWaiters
from inboxd.domain.ids import new_id
from inboxd.store import chats as chats_store
from inboxd.store import messages as messages_store
from inboxd.store import outbox as outbox_store
from inboxd.store.db import Database
from inboxd.store.tables import messages, outbox, unmatched_statuses
from tests.conftest import WhatsAppAccountSpec


async def _setup(db: Database, account_id: str, contact: str, count: int) -> tuple[str, list[str], list[str]]:
    async with db.write() as conn:
        chat = await chats_store.ensure_chat(
            conn, chat_id=new_id(), channel_account_id=account_id, contact_id=contact, title=None, now=1
        )
        ids, box = [], []
        for i in range(count):
            mid, oid = new_id(), new_id()
            await conn.execute(messages.insert().values(
                id=mid, chat_id=chat, channel_account_id=account_id, direction="outgoing", type="text",
                content={"text": "hi"}, status=0, status_history=[{"status": 0, "timestamp": 1}], timestamp=1,
                updated_at=1, seq=i + 1))
            await conn.execute(outbox.insert().values(
                id=oid, message_id=mid, chat_id=chat, channel_account_id=account_id, seq=i + 1, attempts=1, due_at=1,
                lease_owner="w-1", lease_until=10**15, created_at=1))
            ids.append(mid)
            box.append(oid)
    return chat, ids, box


async def _park(db: Database, account_id: str, wamid: str, status: int, ts: int) -> None:
    async with db.write() as conn:
        await conn.execute(unmatched_statuses.insert().values(
            channel_account_id=account_id, external_id=wamid, status=status, timestamp=ts, error=None, received_at=1))


def _view(rows: list[Any]) -> list[tuple[Any, ...]]:
    return [(r["external_id"].split(".")[-1] if r["external_id"] else None, r["status"], r["status_history"]) for r in rows]


async def test_recording_sends_together_equals_one_by_one(db: Database, wa_account: WhatsAppAccountSpec) -> None:
    account = wa_account.account.id
    _, one_ids, one_box = await _setup(db, account, "972500000011", 5)
    _, many_ids, many_box = await _setup(db, account, "972500000012", 5)
    for side in ("one", "many"):  # statuses that arrived before the sends' commits
        await _park(db, account, f"wamid.{side}.1", 1, 2000)
        await _park(db, account, f"wamid.{side}.1", 3, 4000)
        await _park(db, account, f"wamid.{side}.3", 2, 3000)
    async with db.write() as conn:  # message 4 already adopted its wamid from a status
        for mid, side in ((one_ids[4], "one"), (many_ids[4], "many")):
            await conn.execute(messages.update().where(messages.c.id == mid).values(external_id=f"wamid.{side}.adopted"))

    one_changed = []
    async with db.write() as conn:
        for i, (mid, oid) in enumerate(zip(one_ids, one_box, strict=True)):
            await outbox_store.finish(conn, oid, "w-1")
            one_changed += await messages_store.attach_external_id(conn, mid, account, f"wamid.one.{i}", 50)
    async with db.write() as conn:
        await outbox_store.finish_many(conn, many_box, "w-1")
        many_changed = await messages_store.attach_external_ids(
            conn, [(mid, account, f"wamid.many.{i}") for i, mid in enumerate(many_ids)], 50
        )

    assert _view(one_changed) == _view(many_changed) and len(one_changed) == 3
    async with db.read() as conn:
        one = await messages_store.get_messages(conn, one_ids)
        many = await messages_store.get_messages(conn, many_ids)
        left = (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one()
        parked = (await conn.execute(sa.select(sa.func.count()).select_from(unmatched_statuses))).scalar_one()
    assert _view(one) == _view(many)
    assert left == 0 and parked == 0


async def test_finish_many_leaves_rows_held_by_another_worker(db: Database, wa_account: WhatsAppAccountSpec) -> None:
    _, _, box = await _setup(db, wa_account.account.id, "972500000013", 3)
    async with db.write() as conn:
        await conn.execute(outbox.update().where(outbox.c.id == box[0]).values(lease_owner="w-2"))
        await outbox_store.finish_many(conn, box, "w-1")
    async with db.read() as conn:
        assert set((await conn.execute(sa.select(outbox.c.id))).scalars()) == {box[0]}


async def test_one_poller_serves_every_waiting_request(
    db: Database, wa_account: WhatsAppAccountSpec, monkeypatch: Any
) -> None:
    _, ids, _ = await _setup(db, wa_account.account.id, "972500000014", 40)
    waiters = DeliveryWaiters(db)
    looks = 0
    real = outbox_store.pending_for

    async def counting(conn: Any, message_ids: list[str]) -> set[str]:
        nonlocal looks
        looks += 1
        return await real(conn, message_ids)

    monkeypatch.setattr(outbox_store, "pending_for", counting)
    for mid in ids:
        waiters.expect([mid])
    waits = [asyncio.create_task(waiters.wait([mid], 5)) for mid in ids]
    await asyncio.sleep(0.35)  # a few polls: all still in the outbox
    assert not any(w.done() for w in waits)
    async with db.write() as conn:  # another process delivered them
        await conn.execute(outbox.delete())
    assert all(await asyncio.gather(*waits))
    assert looks <= 8  # one look per tick for all 40 requests, not one per request
    waiters.resolve("nothing")  # resolving an unknown id is harmless
    assert await waiters.wait([], 1)
