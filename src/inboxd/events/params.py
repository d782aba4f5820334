"""How the components of a scenario (loaders, conditions, actions) describe their parameters.

Each kind of component declares its parameters once, in its table (`loaders.LOADERS`,
`conditions.CONDITIONS`, `actions.ACTIONS`). The validator reads that declaration to refuse
unknown parameters and missing required ones, and List Components reads the same declaration to
tell authors what they may write — so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from inboxd.domain.errors import Problems


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    required: bool = False
    # The only values accepted, when the parameter is an enumeration.
    values: tuple[str, ...] | None = None
    default: Any = None
    # Whether the value may hold placeholders (`##provide`, `%provider:key%`), resolved per event.
    placeholders: bool = False

    def listing(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description, "required": self.required,
                               "placeholders": self.placeholders}
        if self.values is not None:
            out["values"] = list(self.values)
        if self.default is not None:
            out["default"] = self.default
        return out


class PlaceholderScope(Protocol):
    """Which providers a placeholder may read at one point of a scenario (`scenario._Scope`)."""

    available: set[str]

    def check(self, template: Any, path: str, problems: Problems) -> frozenset[str] | None: ...


@dataclass(frozen=True)
class Kind:
    """What every kind of component shares: its description, its parameters, and an example
    item an author can start from (the tests import every example)."""

    description: str
    params: tuple[Param, ...]
    example: dict[str, Any] = field(default_factory=dict)

    @property
    def param_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params)

    def check_params(self, params: dict[str, Any], path: str, problems: Problems, what: str) -> bool:
        """Refuse parameters this kind does not have and required ones left out; False when
        something was refused."""
        ok = True
        known = ", ".join(p.name for p in self.params)
        for key in sorted(set(params) - self.param_names):
            problems.add(f"{path}.{key}", f"unknown parameter: not supported by the {what} (supported: {known})")
            ok = False
        for param in self.params:
            if param.required and param.name not in params:
                problems.add(f"{path}.{param.name}", f"missing: {param.description}")
                ok = False
        return ok

    def listing(self, name: str) -> dict[str, Any]:
        return {"name": name, "description": self.description, "params": [p.listing() for p in self.params],
                "example": self.example}
