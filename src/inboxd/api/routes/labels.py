"""Labels (reference §6): list, get, create, update, delete, and Manage Labels in Chat.
docs/labels.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from inboxd import labelling
from inboxd.api.deps import get_services, require
from inboxd.api.query import int_param
from inboxd.api.request_body import body_examples, json_body
from inboxd.api.responses import JSON
from inboxd.domain.clock import now_ms
from inboxd.domain.errors import Conflict, NotFound, Problems, RuleRefused, chat_not_found
from inboxd.domain.ids import is_id
from inboxd.domain.labels import (
    SYSTEM_LABELS,
    label_id_problem,
    label_object,
    parse_label_update,
    parse_labels_change,
    parse_new_label,
)
from inboxd.domain.scopes import Scope
from inboxd.domain_events import LABEL_CHANGED
from inboxd.services import Services
from inboxd.store import labels as labels_store

router = APIRouter(tags=["labels"])

MAX_LIMIT, MAX_SKIP = 10_000, 100_000


def label_not_found(label_id: str) -> NotFound:
    return NotFound(f"No label with id {label_id!r}.", code="label_not_found")


def _known_id(label_id: str) -> str:
    """A path id that cannot name a label is simply not found."""
    if label_id_problem(label_id) is not None:
        raise label_not_found(label_id)
    return label_id


@router.get(
    "/labels",
    summary="List All Labels",
    description="Any valid token. `limit` 1–10000 (default 10000), `skip` 0–100000; system labels first, "
    "then in creation order.",
    **require(),
)
async def list_labels(
    services: Annotated[Services, Depends(get_services)],
    limit: Annotated[str | None, Query(description="1–10000, default 10000")] = None,
    skip: Annotated[str | None, Query(description="0–100000, default 0")] = None,
) -> JSON:
    problems = Problems()
    count = int_param(problems, "limit", limit, low=1, high=MAX_LIMIT, default=MAX_LIMIT)
    offset = int_param(problems, "skip", skip, low=0, high=MAX_SKIP, default=0)
    problems.raise_if_any("The query is invalid")
    async with services.db.read() as conn:
        rows, total = await labels_store.list_labels(conn, limit=count, skip=offset)
    return JSON({"total": total, "labels": [label_object(r) for r in rows]})


@router.get("/labels/{labelId}", summary="Get Label Data", description="Any valid token.", **require())
async def get_label(labelId: str, services: Annotated[Services, Depends(get_services)]) -> JSON:  # noqa: N803
    async with services.db.read() as conn:
        row = await labels_store.get_label(conn, _known_id(labelId))
    if row is None:
        raise label_not_found(labelId)
    return JSON(label_object(row))


@router.post(
    "/labels",
    summary="Create Label",
    description="`id` (1–100 characters, no `/`), `name` (1–100), `color` (#RRGGBB, default #555555). "
    "An existing id (system labels included) is 409 `label_exists`. Answers the label.",
    **require(Scope.MANAGE_LABELS, openapi_extra=body_examples(
        {"label": {"value": {"id": "important", "name": "Important!", "color": "#a83236"}}})),
)
async def create_label(request: Request, services: Annotated[Services, Depends(get_services)]) -> JSON:
    new = parse_new_label(await json_body(request, empty=None))
    if new.id in SYSTEM_LABELS:
        raise Conflict(f"{new.id!r} is a system label: it exists already (rename or recolour it).",
                       code="label_exists")
    async with services.db.write() as conn:
        created = await labels_store.create_label(conn, label_id=new.id, name=new.name, color=new.color, now=now_ms())
        if created:
            await services.events.publish(conn, LABEL_CHANGED, label_id=new.id, deleted=False)
    if not created:
        raise Conflict(f"A label with id {new.id!r} exists already.", code="label_exists")
    return JSON({"id": new.id, "name": new.name, "color": new.color})


@router.patch(
    "/labels/{labelId}",
    summary="Update Existing Label",
    description='`name` and/or `color` (system labels too). Answers `"OK"`.',
    **require(Scope.MANAGE_LABELS, openapi_extra=body_examples({"rename": {"value": {"name": "Very important"}}})),
)
async def update_label(
    labelId: str,  # noqa: N803
    request: Request,
    services: Annotated[Services, Depends(get_services)],
) -> JSON:
    values = parse_label_update(await json_body(request, empty=None))
    async with services.db.write() as conn:
        updated = await labels_store.update_label(conn, _known_id(labelId), values, now_ms())
        if updated:
            await services.events.publish(conn, LABEL_CHANGED, label_id=labelId, deleted=False)
    if not updated:
        raise label_not_found(labelId)
    return JSON("OK")


@router.delete(
    "/labels/{labelId}",
    summary="Delete Label",
    description='Removes the label from every chat (each chat\'s change raises its labels event), then deletes '
    'it. System labels cannot be deleted (422 `system_label`). Answers `"OK"`.',
    **require(Scope.MANAGE_LABELS),
)
async def delete_label(labelId: str, services: Annotated[Services, Depends(get_services)]) -> JSON:  # noqa: N803
    async with services.db.write() as conn:
        row = await labels_store.lock_label(conn, _known_id(labelId))
        if row is None:
            raise label_not_found(labelId)
        if row["system"]:
            raise RuleRefused(f"{labelId!r} is a system label: it can be renamed or recoloured, not deleted.",
                              code="system_label")
        await labelling.delete_label(conn, services.events, labelId, now_ms())
    return JSON("OK")


@router.post(
    "/chats/{chatId}/labels",
    summary="Manage Labels in Chat",
    description='Exactly one of `add` (≥ 1 label id), `remove` (≥ 1), `set` (`[]` clears). Every id must be a '
    'label (400 `unknown_label` naming each other one). A change that changes nothing raises no event. '
    'Answers `"OK"`.',
    **require(Scope.MANAGE_ALL_CHATS, openapi_extra=body_examples({
        "add": {"value": {"add": ["manager", "VIP", "holiday"]}},
        "remove": {"value": {"remove": ["holiday"]}},
        "clear": {"value": {"set": []}},
    })),
)
async def manage_chat_labels(
    chatId: str,  # noqa: N803
    request: Request,
    services: Annotated[Services, Depends(get_services)],
) -> JSON:
    change = parse_labels_change(await json_body(request, empty=None))
    if not is_id(chatId):
        raise chat_not_found(chatId)
    async with services.db.write() as conn:
        outcome = await labelling.change_chat_labels(conn, services.events, chatId, change, now_ms())
    if outcome is None:
        raise chat_not_found(chatId)
    return JSON("OK")
