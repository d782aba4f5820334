"""Query parameters, read and bounded in one place. A number past what the database stores
(SQLite's INTEGER is 64-bit) reached the driver and failed as a 500 (`skip=2**63` on Search Chats
and List All Subscriptions); every integer a client can put in a query goes through one of these,
so it is a 400 with the parameter's path instead. Some routes read their query by hand
(`int_param`, `text_param`), so that every problem of a query is reported together (FastAPI's own
validation stops at the parameters it types, before the route sees the others)."""


from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from inboxd.domain.errors import Problems

# Past any table inboxd keeps (an offset that large answers an empty page), well inside 64 bits.
MAX_SKIP = 1_000_000_000
# Epoch milliseconds up to the last moment of year 9999: the range of the ISO dates we render.
MAX_EPOCH_MS = 253_402_300_799_999


def limit_param(maximum: int, *, minimum: int = 1) -> Any:
    """`limit` (page size) between `minimum` and `maximum`."""
    return Annotated[int, Query(ge=minimum, le=maximum)]


def skip_param(maximum: int = MAX_SKIP) -> Any:
    """`skip` (items before the page), 0 to `maximum`."""
    return Annotated[int, Query(ge=0, le=maximum)]


def bounded_digits(text: str | None, path: str, problems: Problems, *, minimum: int, maximum: int) -> int | None:
    """A parameter documented as a string of digits (`^[0-9]+$`), as a number in range."""
    if text is None:
        return None
    value = int(text)
    if not minimum <= value <= maximum:
        problems.add(path, f"must be between {minimum} and {maximum}")
        return None
    return value


def int_param(problems: Problems, name: str, raw: str | None, *, low: int, high: int, default: int) -> int:
    """`raw` as an integer in [low, high] (digits only), `default` when absent; else a problem."""
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        problems.add(f"query.{name}", f"must be an integer from {low} to {high}")
        return default
    return int(raw)


def text_param(problems: Problems, name: str, raw: str | None, *, max_length: int) -> str | None:
    """A non-empty string of at most `max_length` characters, or None when absent."""
    if raw is None:
        return None
    if not 1 <= len(raw) <= max_length:
        problems.add(f"query.{name}", f"must be 1 to {max_length} characters long")
        return None
    return raw
