"""Checking an agent's email and password: the one place a sign-in (the web inbox's browser
sessions) asks whether they are right."""

from __future__ import annotations

import sqlalchemy as sa

from inboxd.agents import passwords
from inboxd.domain.agents import email_key
from inboxd.domain.clock import now_ms
from inboxd.store import agents as agents_store
from inboxd.store.db import Database


async def verify_credentials(db: Database, email: str, password: str) -> sa.RowMapping | None:
    """The agent (row, without the hash) when `email` (any case) and `password` are an active
    agent's; else None, in about the same time whatever was wrong. A hash made with weaker
    parameters than today's is replaced on the way."""
    async with db.read() as conn:
        found = await agents_store.password_hash_of(conn, email_key(email))
    row, password_hash = found if found is not None else (None, None)
    if not await passwords.verify_password(password_hash, password) or row is None or not row["active"]:
        return None
    assert password_hash is not None
    if passwords.needs_rehash(password_hash):
        fresh = await passwords.hash_password(password)
        async with db.write() as conn:
            await agents_store.update_agent(conn, row["uid"], {"password_hash": fresh, "updated_at": now_ms()})
    return row
