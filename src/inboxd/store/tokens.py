"""API tokens: 256-bit random secrets, shown once, stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.clock import now_ms
from inboxd.domain.ids import new_id
from inboxd.domain.scopes import Scope
from inboxd.store.tables import api_tokens

TOKEN_PREFIX = "inboxd_"


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    scopes: frozenset[str]
    created_at: int
    last_used_at: int | None
    revoked_at: int | None
    rate_per_second: float | None = None  # its own rate limit; None: the configured default
    rate_burst: int | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _record(row: sa.Row) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        name=row.name,
        scopes=frozenset(row.scopes),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        rate_per_second=row.rate_per_second,
        rate_burst=row.rate_burst,
    )


async def create_token(
    conn: AsyncConnection,
    name: str,
    scopes: list[Scope],
    *,
    rate_per_second: float | None = None,
    rate_burst: int | None = None,
) -> tuple[str, TokenRecord]:
    """Make a token; returns the secret (the only time it exists in clear) and its record."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = {
        "id": new_id(),
        "name": name,
        "token_hash": hash_token(secret),
        "scopes": sorted({s.value for s in scopes}),
        "created_at": now_ms(),
        "rate_per_second": rate_per_second,
        "rate_burst": rate_burst,
    }
    await conn.execute(api_tokens.insert().values(**row))
    record = TokenRecord(row["id"], name, frozenset(row["scopes"]), row["created_at"], None, None, rate_per_second, rate_burst)
    return secret, record


async def find_token(conn: AsyncConnection, secret: str) -> TokenRecord | None:
    digest = hash_token(secret)
    row = (await conn.execute(sa.select(api_tokens).where(api_tokens.c.token_hash == digest))).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return _record(row)


async def list_tokens(conn: AsyncConnection) -> list[TokenRecord]:
    rows = await conn.execute(sa.select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id))
    return [_record(r) for r in rows]


async def revoke_token(conn: AsyncConnection, token_id: str) -> bool:
    result = await conn.execute(
        api_tokens.update()
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now_ms())
    )
    return result.rowcount > 0


async def touch_token(conn: AsyncConnection, token_id: str, when: int) -> None:
    await conn.execute(api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_at=when))
