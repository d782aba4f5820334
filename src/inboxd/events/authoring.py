"""Writing scenarios step by step (reference §10.1, "advanced"): Copy Scenario, Create Empty
Scenario, Update Draft, Create Revision, Delete Revision, and discarding a draft.

Decisions where the reference is silent (docs/events.md):
- A scenario has at most one draft. Update Draft on a scenario without one starts it from the
  latest revision (its `parentVersion`); Create Empty Scenario starts with an empty draft.
- Create Revision turns the draft into the next version — checked whole, as Import checks a
  scenario — and the draft is gone; the revision is inactive until activated. Version numbers
  count on (`scenarios.last_version`) and are never given twice, not even after a delete.
- Deleting the active revision is refused (409) unless the scenario is inactive; a scenario
  always keeps a revision or a draft (delete the scenario itself instead).
- Every change takes the scenario's row lock first (`manage.lock_scenario`), so two processes
  changing one scenario take turns; unique indexes on (scenario, version) and on a scenario's
  draft refuse whatever a race could still make.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.errors import Conflict, NotFound, Problems, RuleRefused
from inboxd.domain.ids import new_id
from inboxd.events import store as events_store
from inboxd.events.manage import DRAFT, REVISION, create_scenario, lock_scenario
from inboxd.events.operations import apply_operations
from inboxd.events.problems import ScenarioInvalid
from inboxd.events.scenario import MAX_NAME, check_draft, compile_definition, parse_revision


def revision_not_found(scenario_id: str, version: int | str) -> NotFound:
    return NotFound(f"Scenario {scenario_id} has no revision {version}.", code="revision_not_found")


async def _rows(conn: AsyncConnection, scenario_id: str) -> Sequence[Mapping[str, Any]]:
    return (await events_store.revisions_of(conn, [scenario_id]))[scenario_id]


def _revisions(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted((r for r in rows if r["kind"] == REVISION), key=lambda r: r["version"])


def _by_version(scenario_id: str, rows: Sequence[Mapping[str, Any]], version: int) -> Mapping[str, Any]:
    found = next((r for r in _revisions(rows) if r["version"] == version), None)
    if found is None:
        raise revision_not_found(scenario_id, version)
    return found


async def copy_scenario(
    conn: AsyncConnection,
    source_id: str,
    *,
    from_version: int | None,
    new_name: str | None,
    author_uid: str | None,
    now: int,
) -> tuple[str, str]:
    """A new, inactive scenario whose revision 1 is a copy of `from_version` (default: the latest
    revision) of `source_id`, named `new_name` (default: the source's name + " (copy)")."""
    await lock_scenario(conn, source_id)  # the source must exist; and no revision of it goes meanwhile
    revisions = _revisions(await _rows(conn, source_id))
    if from_version is not None:
        source = _by_version(source_id, revisions, from_version)
    elif revisions:
        source = revisions[-1]
    else:
        raise RuleRefused("This scenario has only a draft, and Copy Scenario copies a revision: create a revision first.",
                          code="scenario_has_no_revision")
    definition = {**copy.deepcopy(source["definition"]), "revisionComment": None}
    definition["name"] = new_name or f"{definition['name']} (copy)"[:MAX_NAME]
    try:
        compile_definition(definition)  # a revision stored under older rules must still run as a copy
    except ScenarioInvalid as exc:
        raise RuleRefused(f"Revision {source['version']} no longer passes today's rules ({exc}); it cannot be copied.",
                          code="revision_invalid") from None
    return await create_scenario(conn, kind=REVISION, definition=definition,
                                 author_uid=author_uid or source["author_uid"], now=now)


def empty_definition(name: str, description: str | None, *, allow_private: bool) -> dict[str, Any]:
    """The draft of Create Empty Scenario: a name, and nothing else yet (normalized as stored)."""
    problems = Problems()
    definition = check_draft({"name": name, "description": description}, "body", problems, allow_private=allow_private)
    problems.raise_if_any("The scenario is invalid", code="invalid_scenario")
    return definition


async def create_empty(
    conn: AsyncConnection, definition: dict[str, Any], *, author_uid: str | None, now: int
) -> tuple[str, str]:
    return await create_scenario(conn, kind=DRAFT, definition=definition, author_uid=author_uid, now=now)


async def update_draft(
    conn: AsyncConnection,
    scenario_id: str,
    operations: list[dict[str, Any]],
    *,
    path: str,
    author_uid: str | None,
    allow_private: bool,
    now: int,
) -> None:
    """Apply the operations to the scenario's draft (started from its latest revision if it has
    none), all or nothing: `InvalidRequest` naming the first operation that fails."""
    await lock_scenario(conn, scenario_id)
    rows = await _rows(conn, scenario_id)
    draft = next((r for r in rows if r["kind"] == DRAFT), None)
    revisions = _revisions(rows)
    parent = revisions[-1] if draft is None and revisions else None
    if draft is not None:
        base = draft["definition"]
    elif parent is not None:
        base = {**parent["definition"], "revisionComment": None}
    else:  # the API always leaves a scenario a revision or a draft
        raise RuleRefused("This scenario has neither a revision nor a draft to edit.", code="scenario_has_no_revision")
    problems = Problems()
    definition = apply_operations(base, operations, path, problems, allow_private=allow_private)
    problems.raise_if_any("The operations are invalid, nothing was changed", code="invalid_scenario")
    if draft is not None:
        await events_store.update_draft(conn, draft["id"], definition, author_uid, now)
        return
    await events_store.insert_revision(conn, {
        "id": new_id(), "scenario_id": scenario_id, "kind": DRAFT, "version": None,
        "parent_version": parent["version"] if parent is not None else None,
        "name": definition["name"], "definition": definition,
        "author_uid": author_uid or (parent["author_uid"] if parent is not None else None),
        "created_at": now, "modified_at": now, "activated_at": None, "activations": [],
    })


def no_draft(scenario_id: str) -> Conflict:
    return Conflict(
        f"Scenario {scenario_id} has no draft (a revision was just created from it, or it was never started): "
        "edit it with Update Draft first.",
        code="no_draft",
    )


async def create_revision(
    conn: AsyncConnection,
    scenario_id: str,
    *,
    comment: str | None,
    author_uid: str | None,
    allow_private: bool,
    now: int,
) -> int:
    """The draft becomes the scenario's next version (inactive); returns that version."""
    await lock_scenario(conn, scenario_id)
    draft = await events_store.draft_of(conn, scenario_id)
    if draft is None:
        raise no_draft(scenario_id)
    definition = dict(draft["definition"])
    if comment is not None:
        definition["revisionComment"] = comment
    stored, _ = parse_revision(definition, allow_private=allow_private)
    version = await events_store.take_version(conn, scenario_id)
    promoted = await events_store.promote_draft(
        conn, draft["id"], version=version, definition=stored, author_uid=author_uid or draft["author_uid"], now=now
    )
    if not promoted:  # only if the lock did not hold; the unique indexes would refuse it anyway
        raise no_draft(scenario_id)
    return version


def _would_be_empty(scenario_id: str, what: str) -> Conflict:
    return Conflict(
        f"{what} is all scenario {scenario_id} has left; delete the scenario itself instead.",
        code="scenario_would_be_empty",
    )


async def delete_revision(conn: AsyncConnection, scenario_id: str, version: int) -> None:
    scenario = await lock_scenario(conn, scenario_id)
    rows = await _rows(conn, scenario_id)
    revision = _by_version(scenario_id, rows, version)
    if scenario["active_revision_id"] == revision["id"]:
        raise Conflict(
            f"Revision {version} is the active revision of scenario {scenario_id}: inactivate the scenario, or "
            "activate another revision, before deleting it.",
            code="revision_active",
        )
    if len(rows) == 1:
        raise _would_be_empty(scenario_id, f"Revision {version}")
    await events_store.delete_revision(conn, revision["id"])


async def discard_draft(conn: AsyncConnection, scenario_id: str) -> None:
    await lock_scenario(conn, scenario_id)
    rows = await _rows(conn, scenario_id)
    draft = next((r for r in rows if r["kind"] == DRAFT), None)
    if draft is None:
        raise NotFound(f"Scenario {scenario_id} has no draft.", code="draft_not_found")
    if len(rows) == 1:
        raise _would_be_empty(scenario_id, "Its draft")
    await events_store.delete_revision(conn, draft["id"])
