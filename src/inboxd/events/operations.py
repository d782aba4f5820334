"""Update Draft: the operations that edit a scenario's draft step by step. The reference (§10.1)
names `addTriggerEvent`, `addLoader`, `addCondition`, `addAction`, `rename` and
`setUnorderedActions`; inboxd adds their remove/replace counterparts and `setDescription`
(docs/events.md lists them all).

A request is a list of operations applied in order, all or nothing:
1. every operation is checked for its own shape (its `op`, its fields): every such problem of
   every operation is reported together;
2. then each is applied to the draft, and the draft is checked by the validator Import uses
   (`scenario.check_draft`; a draft may still lack trigger events and actions). The first
   operation that makes the draft invalid stops the request. Its problems are reported at the
   operation's own path when they lie in what it put into the draft
   (`body[2].condition.params.expression`), else at the operation, naming the place of the
   draft they lie at (`body[3]`: "draft.actions[0].params.data.eventData.chat: unknown provider
   'chat' here" — e.g. after removing the loader it read).

Positions are those of the scenario object itself: `stage` + `index` for loaders, `group` +
`index` for conditions, `index` for actions, all from 0.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inboxd.domain.errors import Problems
from inboxd.events.scenario import check_draft

STAGES = ("beforeConditions", "afterConditions")
MAX_OPERATIONS = 100
DRAFT = "draft"  # the root of the draft's paths in problems


class _Refused(Exception):
    """An operation that cannot be applied to this draft as it is (a position it does not have)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


# Field types, checked before anything is applied. What goes *into* the draft (a name, an
# event, a loader, a condition, an action) is left to the validator; these are the addresses.
def _index(value: Any) -> str | None:
    return None if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else "must be a position (0, 1, …)"


def _stage(value: Any) -> str | None:
    return None if value in STAGES else f"must be one of {', '.join(STAGES)}"


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _anything(_value: Any) -> str | None:
    return None


@dataclass(frozen=True)
class Field:
    name: str
    check: Callable[[Any], str | None] = _anything
    required: bool = True


# Applying an operation changes the draft in place and returns the draft path of what it put in
# (None when it only took something out).
Apply = Callable[[dict[str, Any], dict[str, Any]], str | None]


@dataclass(frozen=True)
class Operation:
    fields: tuple[Field, ...]
    apply: Apply
    # The field whose value goes into the draft: problems inside it are reported at its path.
    value: str | None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _position(op: dict[str, Any], field: str, size: int, *, insert: bool, what: str) -> int:
    """`op[field]` as a position in a list of `size` (an insert may also go at the end); absent
    on an insert: the end."""
    position = op.get(field)
    if position is None and insert:
        return size
    if insert and position > size:
        raise _Refused(field, f"must be 0 to {size}: there are {size} {what}s here")
    if not insert and position >= size:
        raise _Refused(field, f"there is no {what} {position}: there are {size} {what}s here")
    return int(position)


# --- the operations -------------------------------------------------------------------------


def _rename(draft: dict[str, Any], op: dict[str, Any]) -> str:
    draft["name"] = op["name"]
    return f"{DRAFT}.name"


def _set_description(draft: dict[str, Any], op: dict[str, Any]) -> str:
    draft["description"] = op["description"]
    return f"{DRAFT}.description"


def _set_unordered_actions(draft: dict[str, Any], op: dict[str, Any]) -> str:
    draft["options"] = {**(draft.get("options") or {}), "unorderedActions": op["value"]}
    return f"{DRAFT}.options"


def _add_trigger(draft: dict[str, Any], op: dict[str, Any]) -> str:
    triggers = draft.setdefault("triggerEvents", [])
    if op["event"] in triggers:
        raise _Refused("event", "already a trigger event of the draft")
    triggers.append(op["event"])
    return f"{DRAFT}.triggerEvents[{len(triggers) - 1}]"


def _remove_trigger(draft: dict[str, Any], op: dict[str, Any]) -> None:
    triggers = draft.setdefault("triggerEvents", [])
    if op["event"] not in triggers:
        raise _Refused("event", f"not a trigger event of the draft (it has: {', '.join(map(str, triggers)) or 'none'})")
    triggers.remove(op["event"])


def _loaders(draft: dict[str, Any], op: dict[str, Any]) -> list[Any]:
    loaders = draft.get("loaders")
    if not isinstance(loaders, dict):
        loaders = draft["loaders"] = {}
    return loaders.setdefault(op["stage"], [])


def _add_loader(draft: dict[str, Any], op: dict[str, Any]) -> str:
    stage = _loaders(draft, op)
    at = _position(op, "index", len(stage), insert=True, what="loader")
    stage.insert(at, op["loader"])
    return f"{DRAFT}.loaders.{op['stage']}[{at}]"


def _remove_loader(draft: dict[str, Any], op: dict[str, Any]) -> None:
    stage = _loaders(draft, op)
    del stage[_position(op, "index", len(stage), insert=False, what="loader")]


def _replace_loader(draft: dict[str, Any], op: dict[str, Any]) -> str:
    stage = _loaders(draft, op)
    at = _position(op, "index", len(stage), insert=False, what="loader")
    stage[at] = op["loader"]
    return f"{DRAFT}.loaders.{op['stage']}[{at}]"


def _group(draft: dict[str, Any], op: dict[str, Any]) -> tuple[int, list[Any]]:
    groups = draft.setdefault("conditions", [])
    g = _position(op, "group", len(groups), insert=False, what="condition group")
    return g, groups[g]


def _add_condition(draft: dict[str, Any], op: dict[str, Any]) -> str:
    groups = draft.setdefault("conditions", [])
    if op.get("group") is None:  # a group of its own: OR with the others
        if op.get("index") not in (None, 0):
            raise _Refused("index", "a condition in a new group is its first (give group to add it to a group)")
        groups.append([op["condition"]])
        return f"{DRAFT}.conditions[{len(groups) - 1}][0]"
    g, group = _group(draft, op)
    at = _position(op, "index", len(group), insert=True, what="condition")
    group.insert(at, op["condition"])
    return f"{DRAFT}.conditions[{g}][{at}]"


def _remove_condition(draft: dict[str, Any], op: dict[str, Any]) -> None:
    g, group = _group(draft, op)
    del group[_position(op, "index", len(group), insert=False, what="condition")]
    if not group:  # the group's last condition: the group goes too
        del draft["conditions"][g]


def _replace_condition(draft: dict[str, Any], op: dict[str, Any]) -> str:
    g, group = _group(draft, op)
    at = _position(op, "index", len(group), insert=False, what="condition")
    group[at] = op["condition"]
    return f"{DRAFT}.conditions[{g}][{at}]"


def _add_action(draft: dict[str, Any], op: dict[str, Any]) -> str:
    actions = draft.setdefault("actions", [])
    at = _position(op, "index", len(actions), insert=True, what="action")
    actions.insert(at, op["action"])
    return f"{DRAFT}.actions[{at}]"


def _remove_action(draft: dict[str, Any], op: dict[str, Any]) -> None:
    actions = draft.setdefault("actions", [])
    del actions[_position(op, "index", len(actions), insert=False, what="action")]


def _replace_action(draft: dict[str, Any], op: dict[str, Any]) -> str:
    actions = draft.setdefault("actions", [])
    at = _position(op, "index", len(actions), insert=False, what="action")
    actions[at] = op["action"]
    return f"{DRAFT}.actions[{at}]"


_INDEX = Field("index", _index)
_AT = Field("index", _index, required=False)
_STAGE = Field("stage", _stage)
_GROUP = Field("group", _index)

OPERATIONS: dict[str, Operation] = {
    "rename": Operation((Field("name"),), _rename, "name"),
    "setDescription": Operation((Field("description"),), _set_description, "description"),
    "setUnorderedActions": Operation((Field("value", _boolean),), _set_unordered_actions, "value"),
    "addTriggerEvent": Operation((Field("event"),), _add_trigger, "event"),
    "removeTriggerEvent": Operation((Field("event"),), _remove_trigger, None),
    "addLoader": Operation((_STAGE, Field("loader"), _AT), _add_loader, "loader"),
    "removeLoader": Operation((_STAGE, _INDEX), _remove_loader, None),
    "replaceLoader": Operation((_STAGE, _INDEX, Field("loader")), _replace_loader, "loader"),
    "addCondition": Operation((Field("condition"), Field("group", _index, required=False), _AT), _add_condition,
                              "condition"),
    "removeCondition": Operation((_GROUP, _INDEX), _remove_condition, None),
    "replaceCondition": Operation((_GROUP, _INDEX, Field("condition")), _replace_condition, "condition"),
    "addAction": Operation((Field("action"), _AT), _add_action, "action"),
    "removeAction": Operation((_INDEX,), _remove_action, None),
    "replaceAction": Operation((_INDEX, Field("action")), _replace_action, "action"),
}


# --- a request ------------------------------------------------------------------------------


def parse_operations(raw: Any, path: str, problems: Problems) -> list[dict[str, Any]]:
    """The operations of an Update Draft request, each checked for its own shape."""
    if not isinstance(raw, list) or not raw:
        problems.add(path, "must be a non-empty array of operations, e.g. [{\"op\": \"rename\", \"name\": \"…\"}]")
        return []
    if len(raw) > MAX_OPERATIONS:
        problems.add(path, f"at most {MAX_OPERATIONS} operations in one request")
        return []
    for i, op in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(op, dict):
            problems.add(where, "must be an operation object {op, …}")
            continue
        kind = OPERATIONS.get(op.get("op")) if isinstance(op.get("op"), str) else None
        if kind is None:
            problems.add(f"{where}.op", f"must be one of {', '.join(OPERATIONS)}")
            continue
        for key in sorted(set(op) - {"op", *kind.field_names}):
            problems.add(f"{where}.{key}", f"unknown field of {op['op']} (its fields: {', '.join(kind.field_names)})")
        for field in kind.fields:
            if field.name not in op:
                if field.required:
                    problems.add(f"{where}.{field.name}", "missing")
                continue
            why = field.check(op[field.name]) if op[field.name] is not None or field.required else None
            if why:
                problems.add(f"{where}.{field.name}", why)
    return raw


def _keys(problems: Problems) -> set[tuple[str, str]]:
    return {(p["path"], p["reason"]) for p in problems.items}


def apply_operations(
    definition: dict[str, Any], operations: list[dict[str, Any]], path: str, problems: Problems, *, allow_private: bool
) -> dict[str, Any]:
    """The draft after the operations, normalized as Import stores a scenario. Stops at the first
    operation that cannot be applied or leaves the draft invalid, with its problems added."""
    state = copy.deepcopy(definition)
    known = Problems()
    check_draft(state, DRAFT, known, allow_private=allow_private)
    before = _keys(known)  # what was already wrong (a definition older than today's rules) is no operation's fault
    for i, op in enumerate(operations):
        where = f"{path}[{i}]"
        kind = OPERATIONS[op["op"]]
        candidate = copy.deepcopy(state)
        try:
            target = kind.apply(candidate, op)
        except _Refused as refused:
            problems.add(f"{where}.{refused.field}", refused.reason)
            return state
        found = Problems()
        check_draft(candidate, DRAFT, found, allow_private=allow_private)
        new = [p for p in found.items if (p["path"], p["reason"]) not in before]
        if new:
            for p in new:
                local = target is not None and (p["path"] == target or p["path"].startswith((f"{target}.", f"{target}[")))
                if local:
                    problems.add(f"{where}.{kind.value}{p['path'][len(target):]}", p["reason"])  # type: ignore[arg-type]
                else:
                    problems.add(where, f"{p['path']}: {p['reason']}")
            return state
        state, before = candidate, _keys(found)
    final = Problems()
    normalized = check_draft(state, DRAFT, final, allow_private=allow_private)
    return normalized if not final else state
