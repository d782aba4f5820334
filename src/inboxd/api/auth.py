"""Bearer-token authentication with a short cache: a token revoked from the CLI (another
process) stops working within `TTL_SECONDS`, and the hot path does not hit the database on
every request.

`authenticate` is the one place a request's caller is found; the rate limiter (which runs
first) and `require()` share its answer through the ASGI scope, so a request looks its token up
once. `principal` names the caller for the rate limiter: its token, else its address (an agent's
session will be a third kind, keyed the same way)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from inboxd.domain.clock import now_ms
from inboxd.domain.rate_limits import ADDRESS, TOKEN, Policy, policy_for
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from inboxd.store.tokens import TokenRecord, hash_token

_SCOPE_KEY = "inboxd.token"  # the request's TokenRecord (or None), once looked up
_MISSING = object()


class TokenCache:
    TTL_SECONDS = 0.5
    TOUCH_EVERY_MS = 60_000

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[str, tuple[float, TokenRecord | None]] = {}
        self._touched: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def lookup(self, secret: str) -> TokenRecord | None:
        """The live (unrevoked) token with this secret, or None."""
        key = hash_token(secret)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.TTL_SECONDS:
            record = cached[1]
        else:
            async with self.db.read() as conn:
                record = await tokens_store.find_token(conn, secret)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now, record)
        if record is None or record.revoked_at is not None:
            return None
        self._touch(record)
        return record

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


async def authenticate(scope: dict[str, Any], tokens: TokenCache) -> TokenRecord | None:
    """The live token the request carries, or None (no token, unknown or revoked)."""
    found = scope.get(_SCOPE_KEY, _MISSING)
    if found is _MISSING:
        secret = bearer_secret(scope)
        found = scope[_SCOPE_KEY] = await tokens.lookup(secret) if secret is not None else None
    return found  # type: ignore[return-value]


async def principal(scope: dict[str, Any], tokens: TokenCache, default: Policy) -> tuple[str, str, Policy]:
    """(kind, key, policy) of the caller, for the rate limiter."""
    record = await authenticate(scope, tokens)
    if record is not None:
        return TOKEN, record.id, policy_for(record.rate_per_second, record.rate_burst, default)
    client = scope.get("client")
    return ADDRESS, client[0] if client else "unknown", default
