"""Scenario conditions: `filtrex` (an expression over `params.value`) and `compare` (one value
against `compareTo`). A scenario's `conditions` is a list of groups: every condition of a group
must hold (AND), and one group is enough (OR); no groups means always.

`CONDITIONS` is the table of the kinds: the validator accepts exactly these, with exactly their
parameters, and List Components lists them from it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from inboxd.domain.errors import Problems
from inboxd.events import expression
from inboxd.events.params import Kind, Param, PlaceholderScope
from inboxd.events.placeholders import render

# Texter's `compare` operators, by their display names.
COMPARISONS = {
    "Equal": "==",
    "Not equal": "!=",
    "Greater than": ">",
    "Greater than or equal": ">=",
    "Less than": "<",
    "Less than or equal": "<=",
}


@dataclass(frozen=True)
class FiltrexCondition:
    node: expression.Node
    # The object the expression's names are looked up in. Absent: the providers themselves, so
    # `message.direction == "incoming"` reads the `message` provider.
    value: Any
    has_value: bool
    providers: frozenset[str]

    def holds(self, values: Mapping[str, Any]) -> bool:
        data = render(self.value, values) if self.has_value else dict(values)
        return expression.matches(self.node, data)


@dataclass(frozen=True)
class CompareCondition:
    op: str
    compare_to: Any
    value: Any
    providers: frozenset[str]

    def holds(self, values: Mapping[str, Any]) -> bool:
        return expression.compare(self.op, render(self.value, values), render(self.compare_to, values))


Condition = FiltrexCondition | CompareCondition


def expression_names(node: expression.Node) -> set[str]:
    """The first segment of every name in the expression (which providers it may read)."""
    if isinstance(node, expression.Name):
        return {node.path[0]}
    if isinstance(node, expression.Not):
        return expression_names(node.operand)
    if isinstance(node, expression.BoolOp):
        return set().union(*(expression_names(n) for n in node.operands))
    if isinstance(node, expression.Compare):
        return expression_names(node.left) | expression_names(node.right)
    if isinstance(node, expression.Call):
        return set().union(*(expression_names(n) for n in node.args)) if node.args else set()
    return set()


# --- the kinds, as the validator compiles them ----------------------------------------------


def _compile_filtrex(params: dict[str, Any], path: str, scope: PlaceholderScope, problems: Problems) -> Condition | None:
    try:
        node = expression.parse(params["expression"])
    except expression.ExpressionError as exc:
        problems.add(f"{path}.expression", f"invalid expression: {exc}")
        return None
    if "value" in params:
        providers = scope.check(params["value"], f"{path}.value", problems)
    else:
        providers = frozenset(expression_names(node) & scope.available)
    if providers is None:
        return None
    return FiltrexCondition(node, params.get("value"), "value" in params, providers)


def _compile_compare(params: dict[str, Any], path: str, scope: PlaceholderScope, problems: Problems) -> Condition | None:
    comparison = params["comparison"]
    op = COMPARISONS.get(comparison) if isinstance(comparison, str) else None
    if op is None:
        problems.add(f"{path}.comparison", f"must be one of {', '.join(COMPARISONS)}")
        return None
    left = scope.check(params["value"], f"{path}.value", problems)
    right = scope.check(params.get("compareTo"), f"{path}.compareTo", problems)
    if left is None or right is None:
        return None
    return CompareCondition(op, params.get("compareTo"), params["value"], left | right)


@dataclass(frozen=True, kw_only=True)
class ConditionKind(Kind):
    # The condition from its parameters (already checked against `params`), or None with the
    # problems added; `path` is the parameters' path.
    compile: Callable[[dict[str, Any], str, PlaceholderScope, Problems], Condition | None]


_PROVIDE_MESSAGE = {"##provide": {"provider": "message", "key": "message"}}

CONDITIONS: dict[str, ConditionKind] = {
    "filtrex": ConditionKind(
        description="A filtrex expression over params.value (without value: over the providers, e.g. "
                    "message.direction). Functions: " + ", ".join(sorted(expression.FUNCTIONS)) + ".",
        params=(
            Param("expression", 'the expression, e.g. direction == "incoming" and (text == "help" or text == "stop")',
                  required=True),
            Param("value", "the object whose keys the expression's names read, e.g. the message", placeholders=True),
        ),
        example={"name": "filtrex", "params": {"expression": 'direction == "incoming"', "value": _PROVIDE_MESSAGE}},
        compile=_compile_filtrex,
    ),
    "compare": ConditionKind(
        description="One value compared with another (strictly: a number with a number, a string with a string).",
        params=(
            Param("comparison", "how value compares to compareTo", required=True, values=tuple(COMPARISONS)),
            Param("value", "the value to compare", required=True, placeholders=True),
            Param("compareTo", "what it is compared with (absent: null)", placeholders=True),
        ),
        example={"name": "compare", "params": {
            "comparison": "Equal", "value": {"##provide": {"provider": "message", "key": "direction"}},
            "compareTo": "incoming"}},
        compile=_compile_compare,
    ),
}
