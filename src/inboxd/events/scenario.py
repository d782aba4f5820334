"""A scenario (reference §10.1): validated once at import, with every problem named by its JSON
path, and compiled into what runs on each event.

Rules where the reference is silent (docs/events.md):
- `triggerEvents`: names from `catalogue.TRIGGERS`; several triggers may only read the
  providers all of them offer.
- A placeholder may read the trigger's providers and the aliases of loaders that come before it:
  `beforeConditions` loaders → conditions → `afterConditions` loaders → actions.
- Loaders, conditions and actions: the kinds of `loaders.LOADERS` (`chat`),
  `conditions.CONDITIONS` (`filtrex`, `compare`) and `actions.ACTIONS` (`request`: post, put or
  patch to a literal http(s) URL), with exactly the parameters each declares — the tables List
  Components is made of. `loops` must be empty. Anything else is refused, not ignored: a scenario
  that imports runs as written.
- A draft is checked by the same rules, but may still lack its trigger events and actions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from inboxd.domain.errors import Problems
from inboxd.events.actions import ACTIONS, RequestAction
from inboxd.events.catalogue import TRIGGERS, providers_of
from inboxd.events.conditions import CONDITIONS, Condition
from inboxd.events.loaders import LOADERS, LoaderKind
from inboxd.events.params import Kind
from inboxd.events.placeholders import TemplateProblem, references
from inboxd.events.problems import ScenarioInvalid
from inboxd.events.transport import literal_address_refusal

AS_STATUSES = ("active", "inactive", "draft")
MAX_NAME = 200
MAX_TEXT = 5000
MAX_UID = 128
MAX_TRIGGERS = 12
MAX_LOADERS = 10
MAX_GROUPS = 20
MAX_CONDITIONS = 20
MAX_ACTIONS = 10
MAX_TAGS = 50
MAX_BODY_DEPTH = 64
K = TypeVar("K", bound=Kind)
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class CompiledLoader:
    kind: LoaderKind
    alias: str
    params: dict[str, Any]
    providers: frozenset[str]


@dataclass(frozen=True)
class CompiledScenario:
    triggers: tuple[str, ...]
    before: tuple[CompiledLoader, ...]
    conditions: tuple[tuple[Condition, ...], ...]
    after: tuple[CompiledLoader, ...]
    actions: tuple[RequestAction, ...]


@dataclass(frozen=True)
class ImportRequest:
    definition: dict[str, Any]
    as_status: str
    author_uid: str | None
    compiled: CompiledScenario

    @property
    def name(self) -> str:
        return str(self.definition["name"])


def unstorable(body: Any) -> tuple[str, str] | None:
    """Where the body holds what cannot be stored: nesting deeper than MAX_BODY_DEPTH, or a NUL
    character (JSON can escape one; neither database keeps it in text). Iterative, so any depth
    is safe to look at."""
    stack: list[tuple[Any, str, int]] = [(body, "body", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_BODY_DEPTH:
            return path, f"nested more than {MAX_BODY_DEPTH} levels deep"
        if isinstance(value, str) and "\x00" in value:
            return path, "must not contain NUL characters"
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return path, "keys must not contain NUL characters"
                stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
    return None


def parse_import(body: Any, *, allow_private: bool) -> ImportRequest:
    """The body of Import Subscription, `{data, asStatus, authorUid?}`; `InvalidRequest` naming
    every problem otherwise."""
    problems = Problems()
    if not isinstance(body, dict):
        problems.add("body", "must be an object {data, asStatus, authorUid?}")
        raise problems.error("The scenario is invalid", code="invalid_scenario")
    bad = unstorable(body)
    if bad is not None:
        problems.add(*bad)
        raise problems.error("The scenario is invalid", code="invalid_scenario")
    as_status = body.get("asStatus", "active")
    if as_status not in AS_STATUSES:
        problems.add("body.asStatus", f"must be one of {', '.join(AS_STATUSES)}")
    author_uid = body.get("authorUid")
    if author_uid is not None and (not isinstance(author_uid, str) or not 1 <= len(author_uid) <= MAX_UID):
        problems.add("body.authorUid", f"must be a string of 1 to {MAX_UID} characters")
    unknown = set(body) - {"data", "asStatus", "authorUid"}
    for key in sorted(unknown):
        problems.add(f"body.{key}", "unknown field (the scenario goes in data)")
    data = body.get("data")
    compiled = None
    definition: dict[str, Any] = {}
    if not isinstance(data, dict):
        problems.add("body.data", "missing: the scenario (name, triggerEvents, loaders, conditions, actions)")
    else:
        definition, compiled = _compile(data, "body.data", problems, allow_private=allow_private)
    if problems or compiled is None:
        raise problems.error("The scenario is invalid", code="invalid_scenario")
    return ImportRequest(definition, str(as_status), author_uid, compiled)


def check_draft(definition: dict[str, Any], path: str, problems: Problems, *, allow_private: bool) -> dict[str, Any]:
    """A draft's definition, normalized as Import stores it; its problems added to `problems`."""
    stored, _ = _compile(definition, path, problems, draft=True, allow_private=allow_private)
    return stored


def parse_revision(definition: dict[str, Any], *, allow_private: bool, path: str = "draft") -> tuple[dict[str, Any], CompiledScenario]:
    """A draft about to become a revision, checked whole as Import checks a scenario."""
    problems = Problems()
    stored, compiled = _compile(definition, path, problems, allow_private=allow_private)
    if problems or compiled is None:
        raise problems.error("The draft is not a complete scenario yet", code="invalid_scenario")
    return stored, compiled


def compile_definition(definition: dict[str, Any]) -> CompiledScenario:
    """A stored (already validated) definition, compiled to run."""
    problems = Problems()
    _, compiled = _compile(definition, "data", problems)
    if problems or compiled is None:
        raise ScenarioInvalid("; ".join(f"{p['path']}: {p['reason']}" for p in problems.items))
    return compiled


def _text(data: dict[str, Any], key: str, path: str, problems: Problems, *, required: bool, limit: int) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            problems.add(f"{path}.{key}", "missing")
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        problems.add(f"{path}.{key}", f"must be a{' non-empty' if required else ''} string of at most {limit} characters")
        return None
    return value


def _list(data: dict[str, Any], key: str, path: str, problems: Problems, limit: int) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(f"{path}.{key}", "must be an array")
        return []
    if len(value) > limit:
        problems.add(f"{path}.{key}", f"at most {limit} items")
        return []
    return value


class _Scope:
    """Which providers a placeholder may read at this point of the scenario."""

    def __init__(self, providers: set[str], active: bool) -> None:
        self.available = set(providers)
        self.active = active  # False when the triggers are invalid: nothing can be checked

    def check(self, template: Any, path: str, problems: Problems) -> frozenset[str] | None:
        try:
            refs = list(references(template, path))
        except TemplateProblem as exc:
            problems.add(exc.path, exc.reason)
            return None
        ok = True
        for ref in refs:
            if self.active and ref.provider not in self.available:
                known = ", ".join(sorted(self.available)) or "none"
                problems.add(ref.path, f"unknown provider {ref.provider!r} here (available: {known})")
                ok = False
        return frozenset(r.provider for r in refs) if ok else None


def _item(raw: Any, path: str, problems: Problems, what: str) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(raw, dict):
        problems.add(path, f"must be a {what} object {{name, params}}")
        return None
    name = raw.get("name")
    params = raw.get("params", {})
    if not isinstance(name, str) or not name:
        problems.add(f"{path}.name", f"missing: the {what} name")
        return None
    if not isinstance(params, dict):
        problems.add(f"{path}.params", "must be an object")
        return None
    confidential = raw.get("confidentialData", False)
    if not isinstance(confidential, bool):
        problems.add(f"{path}.confidentialData", "must be true or false")
    return name, params


def _kind(raw: Any, path: str, problems: Problems, what: str, table: Mapping[str, K]) -> tuple[str, dict[str, Any], K] | None:
    """The item's name, params and kind from `table` (the one the components list is made of),
    with its parameters checked against the kind's; None with the problems added."""
    parsed = _item(raw, path, problems, what)
    if parsed is None:
        return None
    name, params = parsed
    kind = table.get(name)
    if kind is None:
        problems.add(f"{path}.name", f"unknown {what} {name!r} (available: {', '.join(sorted(table))})")
        return None
    if not kind.check_params(params, f"{path}.params", problems, f"{name} {what}"):
        return None
    return name, params, kind


def _loaders(raw: list[Any], path: str, scope: _Scope, problems: Problems) -> tuple[list[dict[str, Any]], list[CompiledLoader]]:
    stored: list[dict[str, Any]] = []
    compiled: list[CompiledLoader] = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        found = _kind(item, where, problems, "loader", LOADERS)
        alias = item.get("alias", item.get("name")) if isinstance(item, dict) else None
        if not isinstance(alias, str) or not _ALIAS.match(alias):
            if found is not None:
                problems.add(f"{where}.alias", "must be a name (letters, digits, _; at most 64)")
            continue
        providers = None
        if found is not None:
            name, params, kind = found
            kind.check(params, f"{where}.params", problems)
            providers = scope.check(params, f"{where}.params", problems)  # before its alias exists: not itself
        scope.available.add(alias)  # also for a refused loader: no second problem downstream
        if found is None or providers is None:
            continue
        stored.append({"name": name, "alias": alias, "params": params,
                       "confidentialData": bool(item.get("confidentialData", False))})
        compiled.append(CompiledLoader(kind, alias, params, providers))
    return stored, compiled


def _condition(raw: Any, path: str, scope: _Scope, problems: Problems) -> tuple[dict[str, Any], Condition] | None:
    found = _kind(raw, path, problems, "condition", CONDITIONS)
    if found is None:
        return None
    name, params, kind = found
    condition = kind.compile(params, f"{path}.params", scope, problems)
    if condition is None:
        return None
    return {"name": name, "params": params, "confidentialData": bool(raw.get("confidentialData", False))}, condition


def _conditions(raw: list[Any], path: str, scope: _Scope, problems: Problems) -> tuple[list[Any], list[tuple[Condition, ...]]]:
    stored: list[Any] = []
    compiled: list[tuple[Condition, ...]] = []
    for g, group in enumerate(raw):
        where = f"{path}[{g}]"
        if not isinstance(group, list) or not group:
            problems.add(where, "must be a non-empty array of conditions (all must hold)")
            continue
        if len(group) > MAX_CONDITIONS:
            problems.add(where, f"at most {MAX_CONDITIONS} conditions in a group")
            continue
        group_stored, group_compiled = [], []
        for c, item in enumerate(group):
            result = _condition(item, f"{where}[{c}]", scope, problems)
            if result is not None:
                group_stored.append(result[0])
                group_compiled.append(result[1])
        stored.append(group_stored)
        compiled.append(tuple(group_compiled))
    return stored, compiled


def _action(raw: Any, path: str, scope: _Scope, problems: Problems) -> tuple[dict[str, Any], RequestAction] | None:
    found = _kind(raw, path, problems, "action", ACTIONS)
    if found is None:
        return None
    name, params, kind = found
    result = kind.compile(params, f"{path}.params", scope, problems)
    if result is None:
        return None
    stored_params, action = result
    return {"name": name, "params": stored_params, "confidentialData": bool(raw.get("confidentialData", False))}, action


def _compile(
    data: dict[str, Any], path: str, problems: Problems, *, draft: bool = False, allow_private: bool | None = None
) -> tuple[dict[str, Any], CompiledScenario | None]:
    """The stored (normalized) definition, and what runs — None when a problem was found. A
    `draft` is checked by the same rules, except that it may still lack its trigger events and
    its actions: a draft is a scenario being written, and is checked whole when it becomes a
    revision. With `allow_private` (the setting) given, a receiver URL whose literal address the
    setting forbids is a problem too (names are judged when connecting); stored definitions
    compiled to run are not judged again."""
    before_count = len(problems.items)
    version = data.get("version", "v1")
    if version != "v1":
        problems.add(f"{path}.version", 'must be "v1"')
    name = _text(data, "name", path, problems, required=True, limit=MAX_NAME)
    description = _text(data, "description", path, problems, required=False, limit=MAX_TEXT)
    comment = _text(data, "revisionComment", path, problems, required=False, limit=MAX_TEXT)

    triggers_raw = data.get("triggerEvents")
    triggers: list[str] = []
    triggers_ok = False
    if draft and triggers_raw in (None, []):
        pass  # no trigger yet: which providers placeholders may read is checked once there is one
    elif not isinstance(triggers_raw, list) or not triggers_raw:
        problems.add(f"{path}.triggerEvents", "must be a non-empty array of event names")
    elif len(triggers_raw) > MAX_TRIGGERS:
        problems.add(f"{path}.triggerEvents", f"at most {MAX_TRIGGERS} events")
    else:
        triggers_ok = True
        for i, trigger in enumerate(triggers_raw):
            if not isinstance(trigger, str) or trigger not in TRIGGERS:
                problems.add(f"{path}.triggerEvents[{i}]", f"unknown trigger event {trigger!r} (known: {', '.join(TRIGGERS)})")
                triggers_ok = False
            elif trigger not in triggers:
                triggers.append(trigger)
    scope = _Scope(providers_of(triggers) if triggers_ok else set(), active=triggers_ok)

    loaders = data.get("loaders") or {}
    if not isinstance(loaders, dict):
        problems.add(f"{path}.loaders", "must be an object {beforeConditions, afterConditions}")
        loaders = {}
    for key in sorted(set(loaders) - {"beforeConditions", "afterConditions"}):
        problems.add(f"{path}.loaders.{key}", "unknown loader stage (beforeConditions, afterConditions)")
    lpath = f"{path}.loaders"
    before_stored, before = _loaders(_list(loaders, "beforeConditions", lpath, problems, MAX_LOADERS),
                                     f"{lpath}.beforeConditions", scope, problems)
    conditions_stored, conditions = _conditions(_list(data, "conditions", path, problems, MAX_GROUPS),
                                                f"{path}.conditions", scope, problems)
    after_stored, after = _loaders(_list(loaders, "afterConditions", lpath, problems, MAX_LOADERS),
                                   f"{lpath}.afterConditions", scope, problems)

    if not draft and data.get("actions") in (None, []):
        problems.add(f"{path}.actions", "must hold at least one action (a request to your URL)")
    actions_raw = _list(data, "actions", path, problems, MAX_ACTIONS)
    actions_stored, actions = [], []
    for i, item in enumerate(actions_raw):
        result = _action(item, f"{path}.actions[{i}]", scope, problems)
        if result is None:
            continue
        actions_stored.append(result[0])
        actions.append(result[1])
        if allow_private is not None and (why := literal_address_refusal(result[1].url, allow_private=allow_private)):
            problems.add(f"{path}.actions[{i}].params.url", why)

    if data.get("loops") not in (None, []):
        problems.add(f"{path}.loops", "loops are not supported (leave it empty)")
    tags = _list(data, "tags", path, problems, MAX_TAGS)
    if any(not isinstance(t, str) or len(t) > MAX_NAME for t in tags):
        problems.add(f"{path}.tags", f"must be strings of at most {MAX_NAME} characters")
    attached = data.get("attachedData", {})
    if not isinstance(attached, dict):
        problems.add(f"{path}.attachedData", "must be an object")
    options = data.get("options") or {}
    unordered = options.get("unorderedActions", False) if isinstance(options, dict) else None
    if not isinstance(unordered, bool):
        problems.add(f"{path}.options", "must be an object {unorderedActions: boolean}")

    definition = {
        "version": "v1",
        "name": name,
        "description": description,
        "revisionComment": comment,
        "triggerEvents": triggers,
        "loaders": {"beforeConditions": before_stored, "afterConditions": after_stored},
        "conditions": conditions_stored,
        "actions": actions_stored,
        "loops": [],
        "tags": tags,
        "attachedData": attached if isinstance(attached, dict) else {},
        "options": {"unorderedActions": bool(unordered)},
    }
    if len(problems.items) > before_count:
        return definition, None
    return definition, CompiledScenario(tuple(triggers), tuple(before), tuple(conditions), tuple(after), tuple(actions))
