"""API tokens as the CLI (`inboxd tokens`) and the API (`/tokens`, scope Manage API tokens) both
handle them: the one rendering of a token (never its secret), the request body of a new one,
and create / list / revoke. Queries in `store.tokens`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from inboxd.domain.clock import iso_from_ms
from inboxd.domain.errors import NotFound, Problems
from inboxd.domain.limits import Bounds
from inboxd.domain.rate_limits import Policy, policy_for
from inboxd.domain.scopes import ALL_SCOPES, Scope, parse_scope
from inboxd.store import tokens as store
from inboxd.store.db import Database
from inboxd.store.tokens import TokenRecord
from inboxd.templates.validation import obj, text

NAME = Bounds(1, 200, "inboxd")
SCOPES = Bounds(1, len(ALL_SCOPES), "inboxd")
MAX_RATE = 100_000.0  # requests/s: far above anything one process serves
MAX_BURST = 1_000_000


def token_object(record: TokenRecord, default: Policy) -> dict[str, Any]:
    """A token as listed: `id, name, scopes, created, lastUsed, revoked, rateLimit` (null: the
    configured default). Never the secret, which exists only at creation."""
    return {
        "id": record.id,
        "name": record.name,
        "scopes": sorted(record.scopes),
        "created": iso_from_ms(record.created_at),
        "lastUsed": iso_from_ms(record.last_used_at),
        "revoked": iso_from_ms(record.revoked_at),
        "rateLimit": rate_limit(record, default),
    }


def rate_limit(record: TokenRecord, default: Policy) -> dict[str, float | int] | None:
    """The token's own limit (`--rate/--burst`), or None when it has the configured default."""
    if record.rate_per_second is None and record.rate_burst is None:
        return None
    policy = policy_for(record.rate_per_second, record.rate_burst, default)
    return {"perSecond": policy.rate, "burst": policy.burst}


@dataclass
class NewToken:
    name: str
    scopes: list[Scope]
    rate: float | None = None
    burst: int | None = None


def parse_new_token(body: Any) -> NewToken:
    """`{name, scopes: [names or slugs], rate?: requests/s, burst?: requests}` (every problem)."""
    problems = Problems()
    if obj(body, "body", problems, ("name", "scopes", "rate", "burst")) is None:
        problems.raise_if_any("The token is not valid")
    name = text(body.get("name"), "body.name", problems, NAME) if "name" in body else None
    if "name" not in body:
        problems.add("body.name", "is required")
    scopes: list[Scope] = []
    given = body.get("scopes")
    if not isinstance(given, list) or len(given) not in SCOPES:
        problems.add("body.scopes", f"is required: an array of 1 to {len(ALL_SCOPES)} scope names")
    else:
        for i, item in enumerate(given):
            try:
                if not isinstance(item, str):
                    raise ValueError(item)
                scopes.append(parse_scope(item))
            except ValueError:
                problems.add(f"body.scopes[{i}]", "unknown scope; known: " + "; ".join(s.value for s in ALL_SCOPES))
    rate = _number(body, "rate", problems, MAX_RATE)
    burst = _number(body, "burst", problems, MAX_BURST, whole=True)
    problems.raise_if_any("The token is not valid")
    assert name is not None
    return NewToken(name, sorted(set(scopes), key=ALL_SCOPES.index), rate,
                    None if burst is None else int(burst))


def _number(body: dict[str, Any], key: str, problems: Problems, most: float, *, whole: bool = False) -> float | None:
    if body.get(key) is None:
        return None
    value = body[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and whole:
        ok = float(value).is_integer() and value >= 1
    if not ok or not 0 < value <= most:
        kind = "a whole number of requests" if whole else "requests per second"
        problems.add(f"body.{key}", f"must be {kind}, above 0 and at most {most:g}")
        return None
    return float(value)


async def create(db: Database, new: NewToken) -> tuple[str, TokenRecord]:
    async with db.write() as conn:
        return await store.create_token(conn, new.name, new.scopes, rate_per_second=new.rate, rate_burst=new.burst)


async def list_all(db: Database) -> list[TokenRecord]:
    async with db.read() as conn:
        return await store.list_tokens(conn)


def token_not_found(token_id: str) -> NotFound:
    return NotFound(f"No live API token with id {token_id!r}.", code="token_not_found")


async def revoke(db: Database, token_id: str) -> bool:
    """Whether a live token with this id was revoked (requests with it are refused within a second)."""
    async with db.write() as conn:
        return await store.revoke_token(conn, token_id)
