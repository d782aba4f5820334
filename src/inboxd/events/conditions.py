"""Scenario conditions: `filtrex` (an expression over `params.value`) and `compare` (one value
against `compareTo`). A scenario's `conditions` is a list of groups: every condition of a group
must hold (AND), and one group is enough (OR); no groups means always."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inboxd.events import expression
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
