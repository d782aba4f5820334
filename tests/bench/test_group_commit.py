"""Group commit of the send path (a benchmark fix in delivery/accept.py): concurrent accepts
share transactions, with every guarantee of one transaction each — sequence order per chat,
idempotency, nothing half-stored, one request's failure failing no other."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from inboxd.delivery.accept import Accepted, Idempotency, OutgoingItem, accept_outgoing
from inboxd.domain.errors import Conflict
from inboxd.store.db import Database
from inboxd.store.tables import chats, messages, outbox
from tests.conftest import WhatsAppAccountSpec
from tests.support.seed import empty_chats
from tests.support.transactions import count_write_transactions


async def test_concurrent_sends_share_transactions_and_keep_each_chats_order(
    db: Database, wa_account: WhatsAppAccountSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = wa_account.account.id
    chat_ids = await empty_chats(db, account, 10)
    transactions = count_write_transactions(db, monkeypatch)
    sends = []
    for n in range(120):
        items = [OutgoingItem("text", {"text": f"m{n}.{k}"}) for k in range(1 + n % 2)]
        sends.append(accept_outgoing(db, chat_ids[n % 10], account, items, now=1000 + n))
    results: list[Accepted] = await asyncio.gather(*sends)
    assert transactions[0] < 60  # grouped (it would be 120 one by one)
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(messages.c.id, messages.c.chat_id, messages.c.seq, messages.c.content)
                                   .order_by(messages.c.chat_id, messages.c.seq))).all()
        boxed = (await conn.execute(sa.select(outbox.c.message_id, outbox.c.seq))).all()
        chat_rows = {r.id: r for r in (await conn.execute(sa.select(chats))).all()}
    assert len(rows) == sum(len(r.message_ids) for r in results) == 180
    assert {m: s for m, s in boxed} == {r.id: r.seq for r in rows}
    for chat_id in chat_ids:
        mine = [r for r in rows if r.chat_id == chat_id]
        assert [r.seq for r in mine] == list(range(1, len(mine) + 1))
        # arrival order is sequence order: request n's messages before request n+10's
        order = [tuple(map(int, r.content["text"][1:].split("."))) for r in mine]
        assert order == sorted(order)
        assert chat_rows[chat_id].last_seq == len(mine)
        last = order[-1]
        assert chat_rows[chat_id].last_message["text"] == f"m{last[0]}.{last[1]}"
        assert chat_rows[chat_id].last_message_at == 1000 + last[0]


async def test_idempotency_inside_groups(db: Database, wa_account: WhatsAppAccountSpec) -> None:
    account = wa_account.account.id
    [chat_id] = await empty_chats(db, account, 1)
    key = Idempotency("crm-1", "hash-a")
    item = [OutgoingItem("text", {"text": "once"})]
    results = await asyncio.gather(*[accept_outgoing(db, chat_id, account, item, now=5, idempotency=key) for _ in range(20)])
    firsts = [r for r in results if not r.replay]
    assert len(firsts) == 1 and all(r.message_ids == firsts[0].message_ids for r in results)
    with pytest.raises(Conflict):
        await accept_outgoing(db, chat_id, account, item, now=6, idempotency=Idempotency("crm-1", "hash-b"))
    async with db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar_one() == 1


async def test_one_failing_request_fails_alone(db: Database, wa_account: WhatsAppAccountSpec) -> None:
    account = wa_account.account.id
    chat_ids = await empty_chats(db, account, 4)

    async def refuse(conn: Any, rows: list[dict[str, Any]]) -> None:
        raise ValueError("refused by a listener")

    sends = []
    for n in range(12):
        chat = "0" * 24 if n == 7 else chat_ids[n % 4]  # request 7 names a chat that does not exist
        sends.append(accept_outgoing(db, chat, account, [OutgoingItem("text", {"text": f"m{n}"})], now=10 + n,
                                     on_accept=refuse if n == 3 else None))
    results = await asyncio.gather(*sends, return_exceptions=True)
    assert isinstance(results[3], ValueError)
    assert isinstance(results[7], Exception)
    assert all(isinstance(r, Accepted) for i, r in enumerate(results) if i not in (3, 7))
    async with db.read() as conn:
        texts = list((await conn.execute(sa.select(messages.c.content))).scalars())
        boxed = (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one()
    assert {t["text"] for t in texts} == {f"m{n}" for n in range(12) if n not in (3, 7)}
    assert boxed == 10


async def test_accepted_rows_are_the_rows_a_read_after_the_commit_returns(
    db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    """`Prefer: respond-async` answers from `Accepted.rows` instead of reading the messages back:
    they must be exactly what the read would return, grouped or alone, with every column."""
    from inboxd.delivery.accept import _accept_one, _Request
    from inboxd.domain.ids import new_id
    from inboxd.store.messages import get_messages

    account = wa_account.account.id
    chat_ids = await empty_chats(db, account, 3)
    grouped = await asyncio.gather(*(
        accept_outgoing(db, chat_id, account, [OutgoingItem("text", {"text": "a"}), OutgoingItem("location", {
            "location": {"latitude": 1.5, "longitude": 2.5}})], now=5000, tmp_send_id="t-1", context="wamid.X")
        for chat_id in chat_ids
    ))
    alone = await _accept_one(db, _Request(chat_ids[0], account, [OutgoingItem("text", {"text": "b"})], [new_id()], 6000, agent="bot"))
    for accepted in [*grouped, alone]:
        assert accepted.rows is not None and not accepted.replay
        async with db.read() as conn:
            stored = [dict(r) for r in await get_messages(conn, accepted.message_ids)]
        assert accepted.rows == stored
    replay_key = Idempotency("k", "h")
    first = await accept_outgoing(db, chat_ids[1], account, [OutgoingItem("text", {"text": "c"})], now=7000,
                                  idempotency=replay_key)
    again = await accept_outgoing(db, chat_ids[1], account, [OutgoingItem("text", {"text": "c"})], now=7001,
                                  idempotency=replay_key)
    assert first.rows is not None and again.replay and again.rows is None
