"""Labels (reference §6): what a label body may hold, what a labels change of a chat says, and
the change's outcome (the new list and its diff). Pure: no I/O.

Where the reference is silent (docs/labels.md): a label id is 1–100 characters without `/`
(it is a path segment of `/labels/{labelId}`), control characters or surrounding spaces; a
request names at most 100 labels; a change that changes nothing is no change (no event).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from inboxd.domain.errors import Problems
from inboxd.domain.limits import Bounds

LABEL_ID = Bounds(1, 100, "texter")
LABEL_NAME = Bounds(1, 100, "texter")
LABELS_PER_REQUEST = Bounds(None, 100, "inboxd")  # Search Chats' labels[] holds ≤ 100 unique too
DEFAULT_COLOR = "#555555"
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_BAD_ID_CHARS = re.compile(r"[/\x00-\x1f\x7f]")

# Labels inboxd itself defines and puts on chats: always present, renamable and recolourable,
# never created or deleted by a client (`system: true`).
FAILED_MESSAGE = "failed_message"
SYSTEM_LABELS: dict[str, dict[str, str]] = {
    FAILED_MESSAGE: {"name": "Failed message", "color": "#e80303"},
}

CHANGE_MODES = ("add", "remove", "set")


def label_id_problem(value: Any) -> str | None:
    """Why `value` cannot be a label id, or None."""
    if not isinstance(value, str):
        return "must be a string"
    if len(value) not in LABEL_ID:
        return f"must be {LABEL_ID.min:.0f} to {LABEL_ID.max:.0f} characters long (got {len(value)})"
    if _BAD_ID_CHARS.search(value):
        return "must not contain '/' or control characters"
    if value != value.strip():
        return "must not begin or end with spaces"
    return None


def _name(value: Any, path: str, problems: Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.add(path, "must be a non-empty string")
        return None
    if len(value) not in LABEL_NAME:
        problems.add(path, f"must be at most {LABEL_NAME.max:.0f} characters long (got {len(value)})")
        return None
    return value


def _color(value: Any, path: str, problems: Problems) -> str | None:
    if not isinstance(value, str) or not COLOR.fullmatch(value):
        problems.add(path, "must be a color as #RRGGBB")
        return None
    return value


def _object(body: Any, allowed: tuple[str, ...], problems: Problems) -> dict[str, Any]:
    if not isinstance(body, dict):
        problems.add("body", "must be a JSON object")
        return {}
    for key in body:
        if key not in allowed:
            problems.add(f"body.{key}", f"unknown field; allowed: {', '.join(allowed)}")
    return body


@dataclass(frozen=True)
class NewLabel:
    id: str
    name: str
    color: str


def parse_new_label(body: Any) -> NewLabel:
    """Create Label's body: `id` and `name` required, `color` optional (#555555)."""
    problems = Problems()
    data = _object(body, ("id", "name", "color"), problems)
    label_id = name = None
    color: str | None = DEFAULT_COLOR
    if data:
        if "id" not in data:
            problems.add("body.id", "is required")
        elif (why := label_id_problem(data["id"])) is not None:
            problems.add("body.id", why)
        else:
            label_id = data["id"]
        if "name" not in data:
            problems.add("body.name", "is required")
        else:
            name = _name(data["name"], "body.name", problems)
        if "color" in data:
            color = _color(data["color"], "body.color", problems)
    elif isinstance(body, dict):
        problems.add("body.id", "is required")
        problems.add("body.name", "is required")
    problems.raise_if_any("The label is not valid")
    assert label_id is not None and name is not None and color is not None
    return NewLabel(label_id, name, color)


def parse_label_update(body: Any) -> dict[str, str]:
    """Update Existing Label's body: `name` and/or `color`. Returns the columns to change."""
    problems = Problems()
    data = _object(body, ("name", "color"), problems)
    out: dict[str, str] = {}
    if isinstance(body, dict) and not ({"name", "color"} & set(data)):
        problems.add("body", "give name, color or both")
    if "name" in data and (name := _name(data["name"], "body.name", problems)) is not None:
        out["name"] = name
    if "color" in data and (color := _color(data["color"], "body.color", problems)) is not None:
        out["color"] = color
    problems.raise_if_any("The label update is not valid")
    return out


@dataclass(frozen=True)
class LabelsChange:
    """Manage Labels in Chat: exactly one of add, remove, set, with its label ids as given (in
    order, repeats included, so a problem can name its position)."""

    mode: str
    ids: tuple[str, ...]


def parse_labels_change(body: Any) -> LabelsChange:
    problems = Problems()
    data = _object(body, CHANGE_MODES, problems)
    given = [m for m in CHANGE_MODES if m in data]
    if isinstance(body, dict) and len(given) != 1:
        problems.add("body", "give exactly one of add, remove, set"
                     + (f" (got {', '.join(given)})" if given else ""))
    ids: list[str] = []
    for mode in given:
        value, path = data[mode], f"body.{mode}"
        if not isinstance(value, list):
            problems.add(path, "must be an array of label ids")
            continue
        if mode != "set" and not value:
            problems.add(path, "must name at least one label")
        if len(value) not in LABELS_PER_REQUEST:
            problems.add(path, f"must name at most {LABELS_PER_REQUEST.max:.0f} labels (got {len(value)})")
            continue
        for i, item in enumerate(value):
            if (why := label_id_problem(item)) is not None:
                problems.add(f"{path}[{i}]", why)
            else:
                ids.append(item)
    problems.raise_if_any("The labels change is not valid")
    return LabelsChange(given[0], tuple(ids))


@dataclass(frozen=True)
class LabelsOutcome:
    old: list[str]
    new: list[str]
    added: list[str]
    removed: list[str]

    @property
    def changed(self) -> bool:
        return self.new != self.old


def apply_change(old: list[str], mode: str, ids: tuple[str, ...] | list[str]) -> LabelsOutcome:
    """The chat's labels after the change: `add` appends the ones it lacks (in the order given),
    `remove` drops the named ones, `set` makes the list exactly `ids` (in that order). A change
    that leaves the list as it was is no change (`changed` False): no event, no write."""
    ids = list(dict.fromkeys(ids))
    if mode == "add":
        new = [*old, *(i for i in ids if i not in old)]
    elif mode == "remove":
        drop = set(ids)
        new = [i for i in old if i not in drop]
    elif mode == "set":
        new = ids
    else:
        raise ValueError(f"unknown labels change {mode!r}")
    kept = set(new)
    before = set(old)
    if mode == "set" and kept == before:
        new = list(old)  # the same labels in another order: not a change worth an event
    return LabelsOutcome(
        old=list(old),
        new=new,
        added=[i for i in new if i not in before],
        removed=[i for i in old if i not in kept],
    )


def label_object(row: Any) -> dict[str, Any]:
    """The Label object: `{id, name, color}`, plus `system: true` on inboxd's own labels."""
    out: dict[str, Any] = {"id": row["id"], "name": row["name"], "color": row["color"]}
    if row["system"]:
        out["system"] = True
    return out
