"""Collecting every problem of a request body before answering, each with its JSON path (the
same `details` Send a Message reports), and the small checks the template bodies share."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from inboxd.domain.errors import Problems
from inboxd.domain.limits import Bounds


def obj(value: Any, path: str, problems: Problems, allowed: Iterable[str]) -> dict[str, Any] | None:
    """`value` if it is an object with known keys only (each unknown key is a problem)."""
    if not isinstance(value, dict):
        problems.add(path, "must be an object")
        return None
    known = set(allowed)
    for key in value:
        if key not in known:
            problems.add(f"{path}.{key}", f"unknown field; allowed: {', '.join(sorted(known))}")
    return value


def text(
    value: Any, path: str, problems: Problems, bounds: Bounds, *, pattern: re.Pattern[str] | None = None,
    pattern_reason: str = "",
) -> str | None:
    if not isinstance(value, str):
        problems.add(path, "must be a string")
        return None
    if len(value) not in bounds:
        problems.add(path, _length_reason(bounds, len(value)))
        return None
    if pattern is not None and not pattern.fullmatch(value):  # whole: `$` alone lets a trailing "\n" through
        problems.add(path, pattern_reason)
        return None
    return value


def _length_reason(bounds: Bounds, got: int) -> str:
    low, high = bounds.min, bounds.max
    if low and high:
        span = f"{int(low)} to {int(high)} characters"
    elif high:
        span = f"at most {int(high)} characters"
    else:
        span = f"at least {int(low or 0)} characters"
    return f"must be {span} long (got {got})"


def boolean(value: Any, path: str, problems: Problems) -> bool | None:
    if not isinstance(value, bool):
        problems.add(path, "must be true or false")
        return None
    return value


def integer(value: Any, path: str, problems: Problems, choices: Iterable[int]) -> int | None:
    allowed = list(choices)
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        problems.add(path, f"must be one of {', '.join(map(str, allowed))}")
        return None
    return value


def choice(value: Any, path: str, problems: Problems, choices: Iterable[str]) -> str | None:
    allowed = list(choices)
    if not isinstance(value, str) or value not in allowed:
        problems.add(path, f"must be one of {', '.join(allowed)}")
        return None
    return value


def string_list(value: Any, path: str, problems: Problems, count: Bounds, item: Bounds) -> list[str] | None:
    if not isinstance(value, list):
        problems.add(path, "must be an array of strings")
        return None
    if len(value) not in count:
        problems.add(path, f"must have at most {int(count.max or 0)} items (got {len(value)})")
        return None
    out = [text(v, f"{path}[{i}]", problems, item) for i, v in enumerate(value)]
    return None if any(v is None for v in out) else out  # type: ignore[misc]
