"""The batched inbound store functions (benchmark fixes: one webhook event is a few statements,
not a few per item) give exactly what applying the items one by one gives."""

from __future__ import annotations

import random
from typing import Any

import pytest
import sqlalchemy as sa

from inboxd.domain.ids import new_id
from inboxd.domain.lifecycle import INITIAL_STATUS
from inboxd.store import chats as chats_store
from inboxd.store import messages as messages_store
from inboxd.store.db import Database
from inboxd.store.tables import chats, messages, outbox, unmatched_statuses
from tests.conftest import WhatsAppAccountSpec
from tests.support.transactions import count_write_transactions


async def _outgoing(db: Database, account_id: str, chat_id: str, wamid: str | None, *, status: int = 0) -> str:
    mid = new_id()
    async with db.write() as conn:
        await conn.execute(
            messages.insert().values(
                id=mid, chat_id=chat_id, channel_account_id=account_id, direction="outgoing", type="text",
                content={"text": "hi"}, status=status, status_history=[{"status": status, "timestamp": 1}],
                external_id=wamid, timestamp=1, updated_at=1,
            )
        )
    return mid


async def _chat(db: Database, account_id: str, contact: str) -> str:
    async with db.write() as conn:
        return await chats_store.ensure_chat(
            conn, chat_id=new_id(), channel_account_id=account_id, contact_id=contact, title=None, now=1
        )


async def _rows(db: Database, ids: list[str]) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = await messages_store.get_messages(conn, ids)
    return [{k: r[k] for k in ("status", "status_history", "error")} for r in rows]


async def test_status_batch_equals_one_by_one(db: Database, wa_account: WhatsAppAccountSpec) -> None:
    account = wa_account.account.id
    chat = await _chat(db, account, "972500000001")
    rng = random.Random(5)
    statuses = [1, 2, 3, 4]
    reports = []
    for _ in range(60):
        wamid = f"wamid.{rng.randrange(8)}"
        error = {"code": 131026, "message": "x"} if rng.random() < 0.1 else None
        reports.append(messages_store.StatusInput(wamid, rng.choice(statuses), rng.randrange(1, 50) * 1000, error))
    one_ids = [await _outgoing(db, account, chat, f"wamid.{i}") for i in range(4)]  # 4..7 are unknown
    batch_chat = await _chat(db, account, "972500000002")
    # the same wamids under a second account would collide: use other wamids for the batch side
    batch_ids = [await _outgoing(db, account, batch_chat, f"wamid.b{i}") for i in range(4)]

    one_events = []
    async with db.write() as conn:
        for r in reports:
            changed = await messages_store.apply_status_report(
                conn, channel_account_id=account, external_id=r.external_id, status=r.status, timestamp=r.timestamp,
                error=r.error, now=99,
            )
            if changed is not None:
                one_events.append((changed["id"], changed["status"], len(changed["status_history"])))
    async with db.write() as conn:
        batch = [messages_store.StatusInput(r.external_id.replace("wamid.", "wamid.b"), r.status, r.timestamp, r.error)
                 for r in reports]
        changed_rows = await messages_store.apply_status_reports(conn, channel_account_id=account, reports=batch, now=99)
    batch_events = [(r["id"], r["status"], len(r["status_history"])) for r in changed_rows]

    assert await _rows(db, one_ids) == await _rows(db, batch_ids)
    index = {b: o for o, b in zip(one_ids, batch_ids, strict=True)}
    assert [(index[i], s, n) for i, s, n in batch_events] == one_events
    async with db.read() as conn:
        parked = (await conn.execute(sa.select(unmatched_statuses.c.external_id, unmatched_statuses.c.status))).all()
    one_parked = {(e, s) for e, s in parked if not e.startswith("wamid.b")}
    batch_parked = {(e.replace("wamid.b", "wamid."), s) for e, s in parked if e.startswith("wamid.b")}
    assert one_parked == batch_parked and one_parked  # unknown wamids wait for their send's commit


async def test_status_batch_adopts_by_callback_data_and_leaves_the_outbox(
    db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    account = wa_account.account.id
    chat = await _chat(db, account, "972500000003")
    mid = await _outgoing(db, account, chat, None)
    async with db.write() as conn:
        await conn.execute(outbox.insert().values(id=new_id(), message_id=mid, chat_id=chat, channel_account_id=account,
                                                  seq=1, attempts=1, due_at=1, created_at=1))
        changed = await messages_store.apply_status_reports(
            conn, channel_account_id=account, now=5,
            reports=[messages_store.StatusInput("wamid.lost", 1, 2000, callback_data=mid),
                     messages_store.StatusInput("wamid.lost", 2, 3000, callback_data=mid)],
        )
    assert [r["status"] for r in changed] == [1, 2]
    async with db.read() as conn:
        row = (await conn.execute(sa.select(messages).where(messages.c.id == mid))).mappings().one()
        left = (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one()
    assert row["external_id"] == "wamid.lost" and row["status"] == 2 and left == 0


async def test_record_incoming_many_equals_one_by_one(db: Database, wa_account: WhatsAppAccountSpec) -> None:
    account = wa_account.account.id
    rng = random.Random(9)
    one = [await _chat(db, account, f"97250000100{i}") for i in range(3)]
    many = [await _chat(db, account, f"97250000200{i}") for i in range(3)]
    items = [(rng.randrange(3), rng.randrange(1, 6) * 1000, {"type": "text", "text": f"m{n}"}) for n in range(25)]
    async with db.write() as conn:
        for i, ts, preview in items:
            await chats_store.record_incoming(conn, one[i], timestamp=ts, preview=preview, now=7)
        await chats_store.record_incoming_many(conn, [(many[i], ts, preview) for i, ts, preview in items], 7)
    cols = [chats.c.last_incoming_at, chats.c.last_message, chats.c.last_message_at, chats.c.unread_count, chats.c.updated_at]
    async with db.read() as conn:
        by_id = {r[0]: tuple(r[1:]) for r in (await conn.execute(sa.select(chats.c.id, *cols))).all()}
    assert [by_id[c] for c in one] == [by_id[c] for c in many]


async def test_ensure_chats_makes_missing_chats_once_and_touches_existing(
    db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    account = wa_account.account.id
    existing = await _chat(db, account, "972500003000")
    async with db.write() as conn:
        made: set[str] = set()
        first = await chats_store.ensure_chats(
            conn, channel_account_id=account, contacts={"972500003000": "Dana", "972500003001": None}, now=50,
            created=made,
        )
    async with db.write() as conn:
        made_again: set[str] = set()
        again = await chats_store.ensure_chats(
            conn, channel_account_id=account, contacts={"972500003001": "Noa", "972500003000": None}, now=60,
            created=made_again,
        )
    assert first == again and first["972500003000"] == existing
    assert made == {first["972500003001"]} and made_again == set()
    async with db.read() as conn:
        rows = {r.contact_id: r for r in (await conn.execute(sa.select(chats))).all()}
    assert len(rows) == 2
    assert rows["972500003000"].title == "Dana" and rows["972500003000"].updated_at == 60
    assert rows["972500003001"].title == "Noa" and rows["972500003001"].status == int(INITIAL_STATUS)


async def test_statuses_parked_by_a_lost_race_are_applied_by_the_sweep(
    db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    """PostgreSQL, two processes: a status parked while the send's record stored the wamid in a
    concurrent transaction (neither saw the other). The inbound workers' sweep applies it."""
    account = wa_account.account.id
    chat = await _chat(db, account, "972500004000")
    mid = await _outgoing(db, account, chat, None)
    async with db.write() as conn:  # the status lands first and is parked …
        await messages_store.apply_status_reports(
            conn, channel_account_id=account, now=5, reports=[messages_store.StatusInput("wamid.race", 3, 4000)]
        )
        await messages_store.apply_status_reports(
            conn, channel_account_id=account, now=5, reports=[messages_store.StatusInput("wamid.race", 1, 2000)]
        )
    async with db.write() as conn:  # … and the wamid arrives without seeing it (the lost race)
        await conn.execute(messages.update().where(messages.c.id == mid).values(external_id="wamid.race"))
    async with db.write() as conn:
        changed = await messages_store.apply_parked_statuses(conn, 9)
    assert [r["status"] for r in changed] == [1, 3]
    async with db.read() as conn:
        row = (await conn.execute(sa.select(messages).where(messages.c.id == mid))).mappings().one()
        left = (await conn.execute(sa.select(sa.func.count()).select_from(unmatched_statuses))).scalar_one()
    assert row["status"] == 3 and [e["status"] for e in row["status_history"]] == [0, 1, 3] and left == 0
    async with db.write() as conn:  # nothing left: a second sweep changes nothing
        assert await messages_store.apply_parked_statuses(conn, 10) == []


def _processor(db: Database, tmp_path: Any) -> Any:
    import httpx

    from inboxd.channels.whatsapp.graph import GraphClient
    from inboxd.domain_events import DomainEvents
    from inboxd.inbound.processor import InboundProcessor
    from inboxd.media.local_store import LocalFileStore

    return InboundProcessor(db, GraphClient(httpx.AsyncClient()), LocalFileStore(tmp_path), DomainEvents())


async def _store_events(db: Database, pnid: str, mid_wamid: str) -> list[str]:
    import orjson

    from inboxd.store import webhook_events as events_store
    from tests.support.webhooks import status_webhook, text_webhook

    bodies = [
        orjson.dumps(text_webhook(phone_number_id=pnid, wa_id="972500005000", wamid="wamid.in1", text="a", timestamp=100)),
        orjson.dumps(status_webhook(phone_number_id=pnid, wamid=mid_wamid, status="delivered", timestamp=101,
                                    recipient="972500005000")),
        b"{not json",
        orjson.dumps(text_webhook(phone_number_id=pnid, wa_id="972500005001", wamid="wamid.in2", text="b", timestamp=102)),
        orjson.dumps(status_webhook(phone_number_id=pnid, wamid=mid_wamid, status="read", timestamp=103,
                                    recipient="972500005000")),
        orjson.dumps(text_webhook(phone_number_id=pnid, wa_id="972500005000", wamid="wamid.in1", text="a", timestamp=100)),
    ]
    ids = []
    for body in bodies:
        async with db.write() as conn:
            ids.append(await events_store.add_event(conn, "whatsapp", body, 1))
    return ids


async def _outcome(db: Database, mid: str) -> tuple[Any, ...]:
    from inboxd.store.tables import webhook_events

    async with db.read() as conn:
        incoming = sorted((await conn.execute(sa.select(messages.c.external_id).where(messages.c.direction == "incoming"))).scalars())
        row = (await conn.execute(sa.select(messages).where(messages.c.id == mid))).mappings().one()
        states = sorted((await conn.execute(sa.select(webhook_events.c.state))).scalars())
    return incoming, row["status"], [e["status"] for e in row["status_history"]], states


async def _five_good_events_and_a_malformed_one(
    db: Database, wa_account: WhatsAppAccountSpec, tmp_path: Any
) -> tuple[Any, str]:
    """The events of `_store_events` for an outgoing message sent earlier; the processor, and that message's id."""
    account = wa_account.account
    chat = await _chat(db, account.id, "972500005000")
    mid = await _outgoing(db, account.id, chat, "wamid.out", status=1)
    await _store_events(db, account.phone_number_id, "wamid.out")
    return _processor(db, tmp_path), mid


async def test_media_free_events_are_applied_together_in_one_transaction(
    db: Database, wa_account: WhatsAppAccountSpec, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    processor, mid = await _five_good_events_and_a_malformed_one(db, wa_account, tmp_path)
    writes = count_write_transactions(db, monkeypatch)
    assert await processor.run_once() == 6
    assert writes[0] == 3  # the claim, the five good events together, the malformed one marked failed
    assert await _outcome(db, mid) == (["wamid.in1", "wamid.in2"], 3, [1, 2, 3], ["done"] * 5 + ["failed"])


async def test_a_group_that_fails_is_applied_event_by_event(
    db: Database, wa_account: WhatsAppAccountSpec, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    processor, mid = await _five_good_events_and_a_malformed_one(db, wa_account, tmp_path)

    async def broken(events: Any) -> None:
        raise RuntimeError("the group failed")

    monkeypatch.setattr(processor, "_apply_together", broken)
    assert await processor.run_once() == 6
    assert await _outcome(db, mid) == (["wamid.in1", "wamid.in2"], 3, [1, 2, 3], ["done"] * 5 + ["failed"])


def test_groups_hold_at_most_group_updates(tmp_path: Any) -> None:
    from inboxd.channels.whatsapp.inbound_parser import ParsedWebhook, StatusReport

    def event(n: int) -> tuple[str, ParsedWebhook]:
        report = StatusReport(phone_number_id="1", external_id="w", status=1, timestamp_ms=1, recipient_id=None, error=None)
        return (new_id(), ParsedWebhook(statuses=[report] * n))

    processor = _processor(None, tmp_path)  # type: ignore[arg-type]
    processor.GROUP_UPDATES = 200
    sizes = [[len(p.statuses) for _, p in group] for group in processor._groups([event(150), event(40), event(100),
                                                                                 event(300), event(5)])]
    assert sizes == [[150, 40], [100], [300], [5]]
