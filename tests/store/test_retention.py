"""Housekeeping purges processed webhooks past retention, expired idempotency keys and stale
unmatched statuses, live events past their retention — and nothing else."""

from __future__ import annotations

import sqlalchemy as sa

from inboxd import housekeeping
from inboxd.domain.clock import now_ms
from inboxd.store.db import Database
from inboxd.store.tables import idempotency_keys, live_events, rate_limit_buckets, unmatched_statuses, webhook_events

DAY = 24 * 3600 * 1000


async def test_purge(db: Database) -> None:
    now = now_ms()
    async with db.write() as conn:
        await conn.execute(webhook_events.insert(), [
            {"id": "a" * 24, "channel": "whatsapp", "body": b"{}", "received_at": now - 9 * DAY, "state": "done",
             "attempts": 1, "next_attempt_at": 0, "processed_at": now - 9 * DAY},
            {"id": "b" * 24, "channel": "whatsapp", "body": b"{}", "received_at": now - DAY, "state": "done",
             "attempts": 1, "next_attempt_at": 0, "processed_at": now - DAY},
            {"id": "c" * 24, "channel": "whatsapp", "body": b"{}", "received_at": now - 9 * DAY, "state": "pending",
             "attempts": 9, "next_attempt_at": now, "processed_at": None},
        ])
        await conn.execute(idempotency_keys.insert(), [
            {"chat_id": "1" * 24, "key": "old", "request_hash": "h", "message_ids": [], "created_at": now - 2 * DAY},
            {"chat_id": "1" * 24, "key": "new", "request_hash": "h", "message_ids": [], "created_at": now - 1000},
        ])
        await conn.execute(unmatched_statuses.insert(), [
            {"channel_account_id": "x", "external_id": "old", "status": 1, "timestamp": 1, "received_at": now - 8 * DAY},
            {"channel_account_id": "x", "external_id": "new", "status": 1, "timestamp": 1, "received_at": now},
        ])
        await conn.execute(live_events.insert(), [
            {"id": i, "type": "chat.updated", "data": "{}", "created_at": at}
            for i, at in enumerate([now - 2 * DAY, now - 25 * 3600 * 1000, now - 1000, now], start=1)
        ])
        await conn.execute(rate_limit_buckets.insert(), [
            {"principal": "token:idle", "level": 0.0, "updated_at": now - 2 * DAY},
            {"principal": "token:busy", "level": 0.0, "updated_at": now - 1000},
        ])
    counts = await housekeeping.purge_once(db, webhook_retention_days=7, live_retention_hours=24)
    assert counts == {"webhook_events": 1, "idempotency_keys": 1, "unmatched_statuses": 1, "live_events": 2,
                      "rate_limit_buckets": 1, "agent_sessions": 0, "login_failures": 0}
    async with db.read() as conn:
        assert sorted((await conn.execute(sa.select(webhook_events.c.id))).scalars()) == ["b" * 24, "c" * 24]
        assert list((await conn.execute(sa.select(idempotency_keys.c.key))).scalars()) == ["new"]
        assert list((await conn.execute(sa.select(unmatched_statuses.c.external_id))).scalars()) == ["new"]
        assert list((await conn.execute(sa.select(live_events.c.id).order_by(live_events.c.id))).scalars()) == [3, 4]
        assert list((await conn.execute(sa.select(rate_limit_buckets.c.principal))).scalars()) == ["token:busy"]
