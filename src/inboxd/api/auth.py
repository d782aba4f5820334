"""Authentication with a short cache: a Bearer API token, or an agent's session cookie (the web
inbox; `agents.sessions`). A token revoked from the CLI (another process), like a session ended
or an agent deactivated, stops working within `TTL_SECONDS`, and the hot path does not hit the
database on every request.

`authenticate` is the one place a request's caller is found — the Bearer token when there is an
`Authorization` header (it wins over a cookie), else the session cookie; the rate limiter (which
runs first) and `require()` share its answer through the ASGI scope, so a request looks its
credential up once. `principal` names the caller for the rate limiter: its token, its agent
(every session of one agent shares a bucket), else its address."""

from __future__ import annotations

import asyncio
from typing import Any

from inboxd.agents.sessions import AgentSession, SessionCache
from inboxd.domain.clock import now_ms
from inboxd.domain.rate_limits import ADDRESS, AGENT, TOKEN, Policy, policy_for
from inboxd.domain.sessions import COOKIE_NAME
from inboxd.secret_cache import SecretCache
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from inboxd.store.tokens import TokenRecord

_SCOPE_KEY = "inboxd.token"  # the request's credential (or None), once looked up
_MISSING = object()
_COOKIE_PREFIX = COOKIE_NAME.encode() + b"="

# What a request may authenticate with: an API token or an agent's session.
Credential = TokenRecord | AgentSession


class TokenCache:
    TTL_SECONDS = 0.5
    TOUCH_EVERY_MS = 60_000

    def __init__(self, db: Database) -> None:
        self.db = db
        self._answers: SecretCache[TokenRecord | None] = SecretCache(self.TTL_SECONDS, self._read)
        self._touched: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def lookup(self, secret: str) -> TokenRecord | None:
        """The live (unrevoked) token with this secret, or None (`secret_cache`: kept
        `TTL_SECONDS`, one read for the requests that arrive while it is read again)."""
        record = await self._answers.get(secret)
        if record is None or record.revoked_at is not None:
            return None
        self._touch(record)
        return record

    async def _read(self, secret: str) -> TokenRecord | None:
        async with self.db.read() as conn:
            return await tokens_store.find_token(conn, secret)

    def _touch(self, record: TokenRecord) -> None:
        """Record `lastUsed` at most once a minute per token, off the request path."""
        when = now_ms()
        if when - self._touched.get(record.id, 0) < self.TOUCH_EVERY_MS:
            return
        self._touched[record.id] = when
        task = asyncio.get_running_loop().create_task(self._write_touch(record.id, when))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write_touch(self, token_id: str, when: int) -> None:
        try:
            async with self.db.write() as conn:
                await tokens_store.touch_token(conn, token_id, when)
        except Exception:  # lastUsed is informational; never fail a request over it
            pass


def bearer_secret(scope: dict[str, Any]) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def session_secret(scope: dict[str, Any]) -> str | None:
    """The `inboxd_session` cookie's value, if the request has one."""
    for name, value in scope["headers"]:
        if name == b"cookie":
            for part in value.split(b";"):
                part = part.strip()
                if part.startswith(_COOKIE_PREFIX):
                    secret = part[len(_COOKIE_PREFIX):].decode("latin-1").strip('"')
                    if secret:
                        return secret
    return None


async def authenticate(
    scope: dict[str, Any], tokens: TokenCache, sessions: SessionCache | None = None
) -> Credential | None:
    """The live credential the request carries, or None (none, unknown, revoked or expired). A
    Bearer token wins over a session cookie: with both, the cookie is not looked at."""
    found = scope.get(_SCOPE_KEY, _MISSING)
    if found is _MISSING:
        secret = bearer_secret(scope)
        if secret is not None:
            found = await tokens.lookup(secret)
        elif sessions is not None and (cookie := session_secret(scope)) is not None:
            found = await sessions.lookup(cookie)
        else:
            found = None
        scope[_SCOPE_KEY] = found
    return found  # type: ignore[return-value]


async def current_credential(
    scope: dict[str, Any], tokens: TokenCache, sessions: SessionCache | None = None
) -> Credential | None:
    """The credential a long request (a live stream) was let in with, looked up again (through
    the caches' short TTL): None once the token was revoked or expired, the session ended, or its
    agent was deactivated; a session's agent as they are now (role, departments)."""
    fresh = {key: value for key, value in scope.items() if key != _SCOPE_KEY}
    return await authenticate(fresh, tokens, sessions)


async def principal(
    scope: dict[str, Any], tokens: TokenCache, default: Policy, sessions: SessionCache | None = None
) -> tuple[str, str, Policy]:
    """(kind, key, policy) of the caller, for the rate limiter."""
    record = await authenticate(scope, tokens, sessions)
    if isinstance(record, AgentSession):
        return AGENT, record.agent_uid, default
    if record is not None:
        return TOKEN, record.id, policy_for(record.rate_per_second, record.rate_burst, default)
    client = scope.get("client")
    return ADDRESS, client[0] if client else "unknown", default
