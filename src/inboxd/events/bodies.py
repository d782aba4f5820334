"""The small request bodies of the scenario endpoints (activate, copy, create, create revision),
checked one way: each field by its rule, unknown fields refused, every problem reported."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inboxd.domain.errors import Problems
from inboxd.events.scenario import MAX_NAME, MAX_TEXT, MAX_UID

# A rule: why the value is refused, or None.
Rule = Callable[[Any], str | None]


def version(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return None if ok else "must be a revision number (1, 2, …)"


def text(limit: int) -> Rule:
    def rule(value: Any) -> str | None:
        ok = isinstance(value, str) and value.strip() and len(value) <= limit
        return None if ok else f"must be a non-empty string of at most {limit} characters"

    return rule


uid = text(MAX_UID)
name = text(MAX_NAME)
long_text = text(MAX_TEXT)


def parse(body: Any, rules: dict[str, Rule], *, required: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields of an object body (absent or null: not in the result); `InvalidRequest`
    naming every problem."""
    problems = Problems()
    shape = "{" + ", ".join(f"{k}{'' if k in required else '?'}" for k in rules) + "}"
    if not isinstance(body, dict):
        problems.add("body", f"must be an object {shape}")
        raise problems.error("The request is invalid")
    out: dict[str, Any] = {}
    for key, rule in rules.items():
        value = body.get(key)
        if value is None:
            if key in required:
                problems.add(f"body.{key}", "missing")
            continue
        why = rule(value)
        if why:
            problems.add(f"body.{key}", why)
        out[key] = value
    for key in sorted(set(body) - set(rules)):
        problems.add(f"body.{key}", f"unknown field (fields: {shape})")
    problems.raise_if_any("The request is invalid")
    return out
