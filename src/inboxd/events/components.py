"""List Components: what a scenario author can use, read from the very tables the validator
checks scenarios against — the catalogue's trigger events, `LOADERS`, `CONDITIONS`, `ACTIONS` —
and the operations of Update Draft. A trigger added to the catalogue, or a kind added to a
table, is listed without anything else to change."""

from __future__ import annotations

from typing import Any

from inboxd.events.actions import ACTIONS
from inboxd.events.catalogue import TRIGGERS
from inboxd.events.conditions import CONDITIONS
from inboxd.events.loaders import LOADERS
from inboxd.events.operations import OPERATIONS


def components() -> dict[str, Any]:
    return {
        "triggerEvents": [
            {"name": name, "description": trigger.description, "providers": sorted(trigger.providers)}
            for name, trigger in TRIGGERS.items()
        ],
        "loaders": [kind.listing(name) for name, kind in LOADERS.items()],
        "conditions": [kind.listing(name) for name, kind in CONDITIONS.items()],
        "actions": [kind.listing(name) for name, kind in ACTIONS.items()],
        "draftOperations": [
            {"op": name, "fields": [{"name": f.name, "required": f.required} for f in operation.fields]}
            for name, operation in OPERATIONS.items()
        ],
    }
