"""The housekeeping loop forgets sessions a day after they ended and failed sign-ins past the
lockout window."""

from __future__ import annotations

import sqlalchemy as sa

from inboxd import housekeeping
from inboxd.domain.clock import now_ms
from inboxd.store.db import Database
from inboxd.store.tables import agent_sessions, agents, login_failures

DAY = 24 * 3600 * 1000


async def test_ended_sessions_and_old_failures_are_purged(db: Database) -> None:
    now = now_ms()
    uid = "4d170fc7-5cd6-4496-98e4-f4f03a11456e"
    async with db.write() as conn:
        await conn.execute(agents.insert().values(uid=uid, email="a@example.com", email_key="a@example.com",
                                                  display_name="A", roles=["agent"], active=True, presence="offline",
                                                  created_at=now, updated_at=now))
        await conn.execute(agent_sessions.insert(), [
            {"id": "a" * 24, "agent_uid": uid, "secret_hash": "1" * 64, "created_at": now - 3 * DAY,
             "expires_at": now - 2 * DAY, "revoked_at": None},  # expired two days ago
            {"id": "b" * 24, "agent_uid": uid, "secret_hash": "2" * 64, "created_at": now - 3 * DAY,
             "expires_at": now + DAY, "revoked_at": now - 2 * DAY},  # signed out two days ago
            {"id": "c" * 24, "agent_uid": uid, "secret_hash": "3" * 64, "created_at": now - 3600_000,
             "expires_at": now - 1000, "revoked_at": None},  # expired a moment ago: kept a day for the record
            {"id": "d" * 24, "agent_uid": uid, "secret_hash": "4" * 64, "created_at": now, "expires_at": now + DAY,
             "revoked_at": None},
        ])
        await conn.execute(login_failures.insert(), [
            {"id": "e" * 24, "email_key": "a@example.com", "failed_at": now - 16 * 60 * 1000},
            {"id": "f" * 24, "email_key": "a@example.com", "failed_at": now - 60 * 1000},
        ])
    counts = await housekeeping.purge_once(db, webhook_retention_days=7)
    assert counts["agent_sessions"] == 2 and counts["login_failures"] == 1
    async with db.read() as conn:
        assert sorted((await conn.execute(sa.select(agent_sessions.c.id))).scalars()) == ["c" * 24, "d" * 24]
        assert list((await conn.execute(sa.select(login_failures.c.id))).scalars()) == ["f" * 24]
