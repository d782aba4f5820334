"""Agents' browser sessions (docs/sign-in.md): signing in and out, and the session cache that
`api.auth` consults for a request carrying the `inboxd_session` cookie.

A session is as good as its agent: every lookup reads the agent's row with the session's, so a
deactivated agent's sessions stop working within the cache's TTL (the API token cache's, 0.5 s),
in every process; an agent whose role changes gets the new role's scopes as quickly. The scopes
come from the role (`domain.agents.scopes_for_roles`), so every route's one `require(...)` check
applies to sessions and tokens alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.agents.credentials import verify_credentials
from inboxd.agents.visibility import ChatView, view_for
from inboxd.domain import sessions as rules
from inboxd.domain.agents import email_key, scopes_for_roles
from inboxd.domain.clock import now_ms
from inboxd.domain.errors import RateLimited, Unauthorized
from inboxd.secret_cache import SecretCache
from inboxd.store import sessions as store
from inboxd.store.db import Database

HOUR_MS = 3600 * 1000
# The lockout's count and its insert are one transaction; on PostgreSQL this lock (per email)
# makes concurrent sign-ins for one email take turns, so no two both see 9 failures.
_LOCK_CLASS = 0x5E55
_LOCK = sa.text("SELECT pg_advisory_xact_lock(:c, hashtext(current_schema() || ':' || :k))")


@dataclass(frozen=True)
class AgentSession:
    """A live session, as a request's credential: who (the agent's row), what they may do
    (`scopes`, from the role), and the CSRF token unsafe requests must carry."""

    id: str
    agent: Mapping[str, Any]
    scopes: frozenset[str]
    expires_at: int
    csrf_token: str
    view: ChatView | None = None  # the chats they see (None: every chat; `agents.visibility`)

    @property
    def agent_uid(self) -> str:
        return str(self.agent["uid"])

    @property
    def name(self) -> str:
        return str(self.agent["display_name"])


class SessionCache:
    """Session lookups by cookie secret, each answer kept `TTL_SECONDS` (the token cache's)."""

    TTL_SECONDS = 0.5

    def __init__(self, db: Database) -> None:
        self.db = db
        self._answers: SecretCache[AgentSession | None] = SecretCache(self.TTL_SECONDS, self._read)

    async def lookup(self, secret: str) -> AgentSession | None:
        """The live session of this secret: not revoked, not expired, its agent active."""
        session = await self._answers.get(secret)
        if session is None or session.expires_at <= now_ms():
            return None
        return session

    def forget(self, secret: str) -> None:
        self._answers.forget(secret)

    async def _read(self, secret: str) -> AgentSession | None:
        async with self.db.read() as conn:
            row = await store.find_session(conn, secret)
        return _live(row, secret)


def _live(row: store.SessionRow | None, secret: str) -> AgentSession | None:
    if row is None or row.revoked_at is not None or not row.agent["active"]:
        return None
    roles = list(row.agent["roles"])
    scopes = frozenset(s.value for s in scopes_for_roles(roles))
    view = view_for(roles, str(row.agent["uid"]), row.departments)
    return AgentSession(row.id, row.agent, scopes, row.expires_at, rules.csrf_token_for(secret), view)


async def sign_in(db: Database, email: str, password: str, *, session_hours: float) -> tuple[str, str]:
    """Check the email and password, open a session; returns (the cookie's secret, the agent's uid).
    Wrong: 401 `wrong_credentials`, the same for an unknown email. Locked out (too many recent
    failures for this email): 429 `rate_limited` with `Retry-After`, before the password is checked."""
    key = email_key(email)
    async with db.write() as conn:
        # Counted pessimistically: the attempt is recorded as a failure before the (slow) check,
        # and struck off if it succeeds, so concurrent attempts in several processes all count.
        now = now_ms()
        await _lock_email(conn, key)
        failures = await store.recent_failures(conn, key, since=now - rules.LOCKOUT_WINDOW_MS)
        wait = rules.lockout_retry_after(failures, now)
        if wait is None:
            await store.record_failure(conn, key, now)
    if wait is not None:
        raise RateLimited(f"Too many failed sign-ins for this email: try again in {wait} s.",
                          headers={"Retry-After": str(wait)})
    row = await verify_credentials(db, email, password)
    if row is None:
        raise wrong_credentials()
    secret = rules.new_secret()
    async with db.write() as conn:
        now = now_ms()
        await store.clear_failures(conn, key)
        await store.create_session(conn, row["uid"], secret, now=now, expires_at=now + int(session_hours * HOUR_MS))
    return secret, str(row["uid"])


def wrong_credentials() -> Unauthorized:
    # No WWW-Authenticate: the credentials came in the body, there is no HTTP scheme to retry with.
    return Unauthorized(rules.WRONG_CREDENTIALS, code="wrong_credentials", headers={})


async def sign_out(db: Database, cache: SessionCache, session: AgentSession, secret: str) -> None:
    async with db.write() as conn:
        await store.revoke_session(conn, session.id, now_ms())
    cache.forget(secret)


async def _lock_email(conn: AsyncConnection, key: str) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(_LOCK, {"c": _LOCK_CLASS, "k": key})
