"""The inbound processor's groups against one event at a time: a group's new chats opened together,
its chats read ahead for the reply actions (`ContactAnswers.read_ahead`), the accounts and known
wamids read inside the write — and the same chats, messages and outbox as processing each event
alone without the read-ahead."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from inboxd.channels.whatsapp.graph import GraphClient
from inboxd.domain.ids import new_id
from inboxd.domain.status import ChatStatus
from inboxd.domain_events import MESSAGE_CREATED, DomainEvents
from inboxd.inbound.processor import InboundProcessor
from inboxd.media.local_store import LocalFileStore
from inboxd.store import chats as chats_store
from inboxd.store import webhook_events as events_store
from inboxd.store.db import Database
from inboxd.store.tables import chats, messages, outbox, webhook_events
from inboxd.templates.reply_actions import ContactAnswers
from tests.conftest import WhatsAppAccountSpec
from tests.support.transactions import count_write_transactions
from tests.support.webhooks import text_webhook

# (contact, text) in webhook order. c1: a reply action, then a second message (the chat resolved
# by the action reopens); c2: an action with a reply text; c3: resolved, reopens; c4: new, two
# messages; c5: the stop word; c6: bulk, reopens; c7: new; c8: an expired action.
MESSAGES = [("1", "hi"), ("4", "hello"), ("3", "back"), ("1", "again"), ("2", "yes"), ("5", "stop"),
            ("4", "second"), ("6", "hey"), ("7", "new"), ("8", "late")]


def _contact(prefix: str, n: str) -> str:
    return f"9725{prefix}00000{n}"


def _action(**values: Any) -> dict[str, Any]:
    return {"created": int(time.time()), "expirationTime": 86_400, **values}


async def _existing_chats(db: Database, account_id: str, prefix: str) -> None:
    setup = {
        "1": (ChatStatus.PENDING, _action(chatStatus=3, replyText="thanks")),
        "2": (ChatStatus.PENDING, _action(chatStatus=1, replyText="hello there")),
        "3": (ChatStatus.RESOLVED, None),
        "5": (ChatStatus.PENDING, _action(chatStatus=3, replyText="never sent")),
        "6": (ChatStatus.BULK, None),
        "8": (ChatStatus.ASSIGNED, {**_action(chatStatus=3), "created": 1}),
    }
    async with db.write() as conn:
        for n, (status, action) in setup.items():
            chat_id = await chats_store.ensure_chat(
                conn, chat_id=new_id(), channel_account_id=account_id, contact_id=_contact(prefix, n), title=None, now=1
            )
            await conn.execute(chats.update().where(chats.c.id == chat_id).values(status=int(status), reply_action=action))


def _processor(db: Database, tmp_path: Any, *, read_ahead: bool) -> InboundProcessor:
    events = DomainEvents()
    processor = InboundProcessor(db, GraphClient(httpx.AsyncClient()), LocalFileStore(tmp_path), events)
    answers = ContactAnswers(frozenset({"stop"}), events)
    events.subscribe(MESSAGE_CREATED, answers)
    if read_ahead:
        processor.before_announcing = answers.read_ahead
    return processor


async def _store(db: Database, pnid: str, prefix: str, contact: str, text: str, k: int) -> None:
    body = orjson.dumps(text_webhook(phone_number_id=pnid, wa_id=_contact(prefix, contact), wamid=f"wamid.{prefix}.{k}",
                                     text=text, timestamp=int(time.time()) - 60 + k))
    async with db.write() as conn:
        await events_store.add_event(conn, "whatsapp", body, 1)


async def _state(db: Database, prefix: str) -> dict[str, Any]:
    """Per contact: the chat's lifecycle columns and preview, its messages (without ids and times)
    and outbox rows."""
    def content(row: Any) -> Any:
        if row["type"] == "system":
            return {k: v for k, v in row["content"].items() if k != "changedBy"}
        return row["content"]

    state: dict[str, Any] = {}
    async with db.read() as conn:
        for row in (await conn.execute(sa.select(chats).where(chats.c.contact_id.like(f"9725{prefix}%")))).mappings():
            msgs = (await conn.execute(sa.select(messages).where(messages.c.chat_id == row["id"]))).mappings().all()
            queued = (await conn.execute(sa.select(sa.func.count()).where(outbox.c.chat_id == row["id"]))).scalar_one()
            state[row["contact_id"][-1]] = {
                "chat": (row["status"], row["agent_uid"], row["department_id"], row["reply_action"], row["title"],
                         row["unread_count"], row["last_message"], row["unsubscribed_at"] is not None),
                "messages": sorted(orjson.dumps([m["direction"], m["type"], content(m)]).decode() for m in msgs),
                "outbox": queued,
            }
    return state


async def test_a_group_gives_what_one_event_at_a_time_gives(
    db: Database, wa_account: WhatsAppAccountSpec, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = wa_account.account
    for prefix in ("10", "20"):
        await _existing_chats(db, account.id, prefix)
    alone = _processor(db, tmp_path, read_ahead=False)
    for k, (contact, text) in enumerate(MESSAGES):
        await _store(db, account.phone_number_id, "10", contact, text, k)
        assert await alone.run_once() == 1
    together = _processor(db, tmp_path, read_ahead=True)
    for k, (contact, text) in enumerate(MESSAGES):
        await _store(db, account.phone_number_id, "20", contact, text, k)
    writes = count_write_transactions(db, monkeypatch)
    assert await together.run_once() == len(MESSAGES)
    assert writes[0] == 2  # the claim, then every event in one transaction
    async with db.read() as conn:
        assert set((await conn.execute(sa.select(webhook_events.c.state))).scalars()) == {"done"}

    one_by_one, grouped = await _state(db, "10"), await _state(db, "20")
    assert grouped == one_by_one
    # and what that is: the actions ran once, the second message reopened the chat c1's action resolved
    assert grouped["1"]["chat"][0] == ChatStatus.PENDING and grouped["1"]["outbox"] == 1
    assert grouped["2"]["outbox"] == 1 and grouped["5"]["outbox"] == 0 and grouped["5"]["chat"][-1] is True
    assert grouped["3"]["chat"][0] == grouped["6"]["chat"][0] == ChatStatus.PENDING
    assert grouped["8"]["chat"][0] == ChatStatus.ASSIGNED and grouped["8"]["chat"][3] is None
    assert len([m for m in grouped["4"]["messages"] if '"incoming"' in m]) == 2
    assert all(grouped[c]["chat"][3] is None for c in "125")


async def test_after_an_answer_that_wrote_the_next_ones_read_their_chat_again(
    db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    """An answer's transition can change other chats (a hand-out gives waiting chats to the agent
    it freed): the rows read ahead before it are not used after it."""
    account = wa_account.account
    async with db.write() as conn:
        ids = [await chats_store.ensure_chat(conn, chat_id=new_id(), channel_account_id=account.id,
                                             contact_id=_contact("30", n), title=None, now=1) for n in "12"]
        await conn.execute(chats.update().where(chats.c.id == ids[0]).values(reply_action=_action(chatStatus=3)))
    answers = ContactAnswers(frozenset(), DomainEvents())
    rows = [{"id": new_id(), "chat_id": chat_id, "channel_account_id": account.id, "direction": "incoming",
             "type": "text", "content": {"text": "hi"}, "timestamp": int(time.time() * 1000)} for chat_id in ids]
    async with db.write() as conn:
        await answers.read_ahead(conn, rows)
        await answers(conn, message=rows[0])  # the action resolves the first chat
        # (what a hand-out of that answer could have done to the second chat)
        await conn.execute(chats.update().where(chats.c.id == ids[1]).values(status=int(ChatStatus.RESOLVED)))
        await answers(conn, message=rows[1])  # reopens it: it read the row as it is now
    async with db.read() as conn:
        statuses = dict((await conn.execute(sa.select(chats.c.id, chats.c.status).where(chats.c.id.in_(ids)))).all())
    assert statuses == {ids[0]: ChatStatus.RESOLVED, ids[1]: ChatStatus.PENDING}
