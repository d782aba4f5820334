"""The live log's writer on a real database: one row per changed object, written in the change's
transaction, numbered in commit order without gaps; the send path's group commit keeps a few
statements per group."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from inboxd import domain_events as de
from inboxd.delivery.accept import OutgoingItem, accept_outgoing
from inboxd.domain.ids import new_id
from inboxd.domain_events import DomainEvents
from inboxd.live import store as live_store
from inboxd.live.log import LiveLog
from inboxd.store import chats as chats_store
from inboxd.store.db import Database
from inboxd.store.tables import agents, live_events, messages
from tests.conftest import WhatsAppAccountSpec
from tests.support.seed import empty_chats


@pytest.fixture
def bus(db: Database) -> Any:
    events = DomainEvents()
    log = LiveLog(db)
    log.install(events)
    yield events
    log.uninstall()


async def _log(db: Database) -> list[Any]:
    async with db.read() as conn:
        return list(await conn.execute(sa.select(live_events).order_by(live_events.c.id)))


def _count_statements(db: Database) -> tuple[list[list[str]], Any]:
    """The statements of each write transaction, in order (SQLAlchemy's cursor events)."""
    transactions: list[list[str]] = []

    def begin(_conn: Any) -> None:
        transactions.append([])

    def execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if transactions:
            transactions[-1].append(statement.split(None, 1)[0].upper())

    engine = db.engine.sync_engine
    event.listen(engine, "begin", begin)
    event.listen(engine, "before_cursor_execute", execute)

    def stop() -> None:
        event.remove(engine, "begin", begin)
        event.remove(engine, "before_cursor_execute", execute)

    return transactions, stop


async def test_a_group_of_sends_writes_one_event_per_message_and_per_chat_in_three_more_statements(
    db: Database, wa_account: WhatsAppAccountSpec, bus: DomainEvents
) -> None:
    account = wa_account.account.id
    chat_ids = await empty_chats(db, account, 5)
    transactions, stop = _count_statements(db)
    try:
        results = await asyncio.gather(*(
            accept_outgoing(db, chat_ids[n % 5], account, [OutgoingItem("text", {"text": f"m{n}"})], now=100 + n,
                            events=bus)
            for n in range(40)
        ))
    finally:
        stop()
    groups = [t for t in transactions if "INSERT" in t]
    assert 1 <= len(groups) < 40
    rows = await _log(db)
    created = [r for r in rows if r.type == "message.created"]
    assert sorted(orjson.loads(r.data)["_id"] for r in created) == sorted(i for r in results for i in r.message_ids)
    # One chat.updated per chat and group (its preview), not one per message.
    assert len([r for r in rows if r.type == "chat.updated"]) <= 5 * len(groups)
    for statements in groups:
        # idempotency (none) · sequence UPDATE · messages INSERT · outbox INSERT · previews UPDATE,
        # then the log: the chats SELECT, the cursor upsert, the events INSERT.
        assert len(statements) <= 8, statements
    assert [r.id for r in rows] == list(range(1, len(rows) + 1))
    last = {orjson.loads(r.data)["_id"]: orjson.loads(r.data) for r in rows if r.type == "chat.updated"}
    async with db.read() as conn:
        for chat_id in chat_ids:
            chat = await chats_store.get_chat(conn, chat_id)
            assert last[chat_id]["last_message_timestamp"] == chat["last_message_at"]


async def test_changes_of_one_object_in_one_transaction_make_one_event_in_its_final_state(
    db: Database, wa_account: WhatsAppAccountSpec, bus: DomainEvents
) -> None:
    account = wa_account.account.id
    [chat_id] = await empty_chats(db, account, 1)
    message_id = new_id()
    async with db.write() as conn:
        await bus.publish(conn, de.CHAT_UPDATED, chat_id=chat_id, fields=["title"])
        await conn.execute(messages.insert().values(
            id=message_id, chat_id=chat_id, channel_account_id=account, direction="incoming", type="text",
            content={"text": "hi"}, status=2, status_history=[], timestamp=5, updated_at=5))
        row = {"id": message_id, "chat_id": chat_id, "channel_account_id": account, "direction": "incoming",
               "type": "text", "content": {"text": "hi"}, "status": 2, "status_history": [], "timestamp": 5,
               "updated_at": 5}
        await bus.publish(conn, de.MESSAGE_CREATED, message=row)
        await bus.publish(conn, de.MESSAGE_UPDATED, message={**row, "content": {"text": "hi", "reactions": [1]}})
        await bus.publish(conn, de.CHAT_LABELS, chat_id=chat_id, old_labels=[], added_labels=["x"], removed_labels=[])
        await conn.execute(sa.text("UPDATE chats SET title = 'Final' WHERE id = :id"), {"id": chat_id})
    rows = await _log(db)
    assert [(r.type, r.chat_id) for r in rows] == [("chat.updated", chat_id), ("message.created", chat_id)]
    chat, message = (orjson.loads(r.data) for r in rows)
    assert chat["title"] == "Final"  # rendered at the end of the transaction
    assert message["reactions"] == [1] and message["_id"] == message_id
    assert rows[0].channel_account_id == account


async def test_a_rolled_back_change_writes_no_event_and_takes_no_id(
    db: Database, wa_account: WhatsAppAccountSpec, bus: DomainEvents
) -> None:
    [chat_id] = await empty_chats(db, wa_account.account.id, 1)
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await bus.publish(conn, de.CHAT_UPDATED, chat_id=chat_id, fields=[])
            raise RuntimeError("the change failed")
    async with db.write() as conn:
        await bus.publish(conn, de.CHAT_UPDATED, chat_id=chat_id, fields=[])
    assert [r.id for r in await _log(db)] == [1]


async def test_notices_carry_their_object(db: Database, bus: DomainEvents) -> None:
    problem = {"_id": "p1", "name": "whatsapp_token_expired", "severity": "error"}
    uid = "4d170fc7-5cd6-4496-98e4-f4f03a11456e"
    async with db.write() as conn:
        await conn.execute(agents.insert().values(uid=uid, email="a@example.com", email_key="a@example.com",
                                                  display_name="A", roles=["agent"], active=True, presence="offline",
                                                  created_at=1, updated_at=1))
        await bus.publish(conn, de.CHANNEL_PROBLEM_CREATED, problem=problem)
        await bus.publish(conn, de.AGENT_UPDATED, agent_uid=uid, fields=["presence"])
        # The Agent as it is when the transaction ends (the notice came before this change).
        await conn.execute(agents.update().where(agents.c.uid == uid).values(presence="online"))
        await bus.publish(conn, de.AGENT_UPDATED, agent_uid="4d170fc7-0000-4496-98e4-f4f03a11456e", fields=[])  # gone
    rows = await _log(db)
    assert [(r.type, orjson.loads(r.data)) for r in rows] == [
        ("problem.created", problem),
        ("agent.updated", {"uid": uid, "email": "a@example.com", "displayName": "A", "crmId": None, "roles": ["agent"],
                           "departments": [], "active": True, "presence": "online", "maxOpenChats": None,
                           "openChats": 0, "created": "1970-01-01T00:00:00.001Z", "updatedAt": "1970-01-01T00:00:00.001Z"})]


async def test_a_reader_never_sees_an_id_before_the_ids_below_it_committed(
    db: Database, wa_account: WhatsAppAccountSpec, bus: DomainEvents
) -> None:
    """Many writers at once (on PostgreSQL each on its own connection, holding its transaction
    open for a random while after taking its ids), and a reader polling all along: every read
    sees a gapless prefix of the ids."""
    chat_ids = await empty_chats(db, wa_account.account.id, 40)
    stop = asyncio.Event()
    observed: list[list[int]] = []

    async def writer(n: int) -> None:
        async with db.write() as conn:
            for chat_id in random.sample(chat_ids, 1 + n % 3):
                await bus.publish(conn, de.CHAT_UPDATED, chat_id=chat_id, fields=[])

    async def slow_commit(_conn: Any) -> None:  # after the log took its ids, before the commit
        await asyncio.sleep(random.random() * 0.005)

    remove = db.add_commit_hooks(slow_commit, lambda _conn: None)

    async def reader() -> None:
        async with db.read() as conn:  # its own connection all along (not queued behind the writers)
            while not stop.is_set():
                observed.append(list((await conn.execute(sa.select(live_events.c.id))).scalars()))
                await conn.rollback()  # the next read is a new snapshot
                await asyncio.sleep(0)

    watching = asyncio.create_task(reader())
    try:
        await asyncio.gather(*(writer(n) for n in range(200)))
    finally:
        remove()
        stop.set()
        await watching
    for ids in observed:
        assert sorted(ids) == list(range(1, len(ids) + 1))
    async with db.read() as conn:
        assert await live_store.head(conn) == len(await _log(db)) > 200
