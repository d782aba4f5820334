"""Managing subscriptions: import, activate, inactivate, delete, and the API shapes of a
scenario (reference §10.1) and of its runs.

Decisions where the reference is silent (docs/events.md):
- An import makes revision 1 — `active` or `inactive` — or, with `asStatus: "draft"`, a draft.
  Drafts never fire; a scenario with only a draft cannot be activated (422).
- At most one revision is active. Activate takes the latest revision unless `version` is given;
  inactivate moves the active revision to `inactiveRevisions`. Events queued while a scenario was
  active are still delivered after it is inactivated; deleting it drops them.
- Times: `metadata.created`/`modified`/`activated` are ISO strings like the chat's `created`;
  `activations[].timestamp` is epoch ms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.clock import iso_from_ms
from inboxd.domain.errors import NotFound, RuleRefused
from inboxd.domain.ids import is_id, new_id
from inboxd.events import store as events_store
from inboxd.events.scenario import ImportRequest
from inboxd.events.signing import new_secret

REVISION, DRAFT = "revision", "draft"


def scenario_not_found(scenario_id: str) -> NotFound:
    return NotFound(f"No scenario with id {scenario_id!r}.", code="scenario_not_found")


async def create_scenario(
    conn: AsyncConnection,
    *,
    kind: str,
    definition: dict[str, Any],
    author_uid: str | None,
    now: int,
    active_triggers: list[str] | None = None,
) -> tuple[str, str]:
    """A new scenario whose first row is revision 1 (`kind` REVISION; active when
    `active_triggers` is given) or a draft. Returns its id and its signing secret (shown once,
    by the caller)."""
    scenario_id, revision_id, secret = new_id(), new_id(), new_secret()
    active = active_triggers is not None
    await events_store.insert_scenario(
        conn,
        {"id": scenario_id, "system": False, "signing_secret": secret, "active_revision_id": None,
         "created_at": now, "updated_at": now, "last_version": 1 if kind == REVISION else 0},
        {"id": revision_id, "scenario_id": scenario_id, "kind": kind, "version": 1 if kind == REVISION else None,
         "parent_version": None, "name": definition["name"], "definition": definition,
         "author_uid": author_uid, "created_at": now, "modified_at": now,
         "activated_at": now if active else None,
         "activations": [{"timestamp": now, "userUid": author_uid}] if active else []},
    )
    if active_triggers is not None:
        await events_store.set_active_revision(conn, scenario_id, revision_id, active_triggers, now)
    return scenario_id, secret


async def import_scenario(conn: AsyncConnection, request: ImportRequest, now: int) -> tuple[str, str]:
    """Store the scenario; returns its id and its signing secret (shown once, by the caller)."""
    return await create_scenario(
        conn,
        kind=DRAFT if request.as_status == "draft" else REVISION,
        definition=request.definition,
        author_uid=request.author_uid,
        now=now,
        active_triggers=list(request.compiled.triggers) if request.as_status == "active" else None,
    )


async def lock_scenario(conn: AsyncConnection, scenario_id: str) -> Mapping[str, Any]:
    """The scenario's row, locked until the transaction ends (on PostgreSQL; SQLite has one
    writer): every change of a scenario or of its revisions takes this lock first."""
    row = await events_store.get_scenario(conn, scenario_id, lock=True) if is_id(scenario_id) else None
    if row is None:
        raise scenario_not_found(scenario_id)
    return row


async def activate(
    conn: AsyncConnection, scenario_id: str, *, version: int | None, user_uid: str | None, now: int
) -> None:
    scenario = await lock_scenario(conn, scenario_id)
    revisions = [r for r in (await events_store.revisions_of(conn, [scenario_id]))[scenario_id] if r["kind"] == REVISION]
    if not revisions:
        raise RuleRefused(
            "This scenario has only a draft, and drafts never run: import it again with asStatus active or inactive.",
            code="scenario_has_no_revision",
        )
    if version is None:
        target = max(revisions, key=lambda r: r["version"])
    else:
        target = next((r for r in revisions if r["version"] == version), None)
        if target is None:
            raise NotFound(f"Scenario {scenario_id} has no revision {version}.", code="revision_not_found")
    if scenario["active_revision_id"] == target["id"]:
        return  # already active: nothing changes, nothing is recorded
    await events_store.record_activation(conn, target, now, user_uid)
    await events_store.set_active_revision(conn, scenario_id, target["id"], list(target["definition"]["triggerEvents"]), now)


async def inactivate(conn: AsyncConnection, scenario_id: str, *, now: int) -> None:
    scenario = await lock_scenario(conn, scenario_id)
    if scenario["active_revision_id"] is not None:
        await events_store.set_active_revision(conn, scenario_id, None, [], now)


async def delete(conn: AsyncConnection, scenario_id: str) -> None:
    await lock_scenario(conn, scenario_id)
    await events_store.delete_scenario(conn, scenario_id)


async def load(conn: AsyncConnection, scenario_id: str) -> dict[str, Any]:
    row = await events_store.get_scenario(conn, scenario_id) if is_id(scenario_id) else None
    if row is None:
        raise scenario_not_found(scenario_id)
    revisions = await events_store.revisions_of(conn, [scenario_id])
    return scenario_object(row, revisions[scenario_id])


# --- shapes ---------------------------------------------------------------------------------


def _revision(row: Mapping[str, Any], active: bool) -> dict[str, Any]:
    definition = row["definition"]
    out: dict[str, Any] = {
        "_id": row["id"],
        "scenarioId": row["scenario_id"],
        "name": row["name"],
        "description": definition.get("description"),
    }
    if row["kind"] == REVISION:
        out["status"] = "active" if active else "inactive"
        out["version"] = row["version"]
    out.update(
        parentVersion=row["parent_version"],
        revisionComment=definition.get("revisionComment"),
        triggerEvents=definition["triggerEvents"],
        conditions=definition["conditions"],
        loaders=definition["loaders"],
        actions=definition["actions"],
        loops=definition.get("loops", []),
        tags=definition.get("tags", []),
        attachedData=definition.get("attachedData", {}),
        options=definition.get("options", {"unorderedActions": False}),
        metadata={
            "authorUid": row["author_uid"],
            "created": iso_from_ms(row["created_at"]),
            "modified": iso_from_ms(row["modified_at"]),
            "activated": iso_from_ms(row["activated_at"]),
            "activations": row["activations"] or [],
        },
    )
    return out


def scenario_object(row: Mapping[str, Any], revisions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The scenario object; `activeRevision` is absent when the scenario is not active."""
    out: dict[str, Any] = {"_id": row["id"]}
    active = [r for r in revisions if r["id"] == row["active_revision_id"]]
    if active:
        out["activeRevision"] = _revision(active[0], True)
    out["inactiveRevisions"] = [
        _revision(r, False) for r in revisions if r["kind"] == REVISION and r["id"] != row["active_revision_id"]
    ]
    out["drafts"] = [_revision(r, False) for r in revisions if r["kind"] == DRAFT]
    out["system"] = bool(row["system"])
    return out


def run_object(row: Mapping[str, Any], attempts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One delivery of one event to one subscription, with every attempt."""
    pending = row["state"] == events_store.PENDING
    return {
        "_id": row["id"],
        "scenarioId": row["scenario_id"],
        "revisionId": row["revision_id"],
        "triggerEvent": row["trigger_event"],
        "eventName": row["event_name"],
        "chatId": row["chat_id"],
        "status": row["state"],
        "request": {"method": row["method"].upper(), "url": row["url"]},
        "created": row["created_at"],
        "nextAttemptAt": row["due_at"] if pending else None,
        "finishedAt": row["finished_at"],
        "attemptCount": row["attempts"],
        "lastStatusCode": row["last_status_code"],
        "lastError": row["last_error"],
        "attempts": [
            {
                "attempt": a["attempt"],
                "startedAt": a["started_at"],
                "latencyMs": a["latency_ms"],
                "statusCode": a["status_code"],
                "outcome": a["outcome"],
                "error": a["error"],
            }
            for a in attempts
        ],
    }
