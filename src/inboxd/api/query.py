"""Query parameters read by hand, so that every problem of a query is reported together (FastAPI's
own validation stops at the parameters it types, before the route sees the others)."""

from __future__ import annotations

from inboxd.domain.errors import Problems


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
