"""Collecting what is wrong with a scenario, each problem with the JSON path where it is."""

from __future__ import annotations

from typing import Any

from inboxd.domain.errors import InvalidRequest, problem


class Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, path: str, reason: str) -> None:
        self.items.append(problem(path, reason))

    def __bool__(self) -> bool:
        return bool(self.items)

    def error(self) -> InvalidRequest:
        first = self.items[0]
        more = f" (and {len(self.items) - 1} more problem{'s' if len(self.items) > 2 else ''})" if len(self.items) > 1 else ""
        return InvalidRequest(
            f"The scenario is invalid: {first['path']}: {first['reason']}{more}.",
            code="invalid_scenario",
            details=self.items,
        )


class ScenarioInvalid(Exception):
    """A stored definition that no longer compiles (kept for the log, never shown to a client)."""
