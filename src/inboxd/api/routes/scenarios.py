"""Event subscriptions (Texter scenarios, reference §10.1): Import Subscription, List All
Subscriptions and Copy Scenario at the reference's paths; activate, inactivate, delete, runs and
the authoring endpoints (Create Empty Scenario, Update Draft, Create Revision, Delete Revision,
List Components) at paths the reference does not give (docs/events.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.api.contract import answers, link, ok
from inboxd.api.deps import get_services, require
from inboxd.api.query import limit_param, skip_param
from inboxd.api.request_body import json_body
from inboxd.api.responses import JSON
from inboxd.api.schemas import SCENARIO_ID
from inboxd.domain.clock import now_ms
from inboxd.domain.errors import Conflict, InvalidRequest, NotFound, Problems, RuleRefused, problem
from inboxd.domain.scopes import Scope
from inboxd.events import authoring, bodies, manage
from inboxd.events import store as events_store
from inboxd.events.components import components
from inboxd.events.manage import scenario_not_found
from inboxd.events.operations import parse_operations
from inboxd.events.scenario import parse_import, unstorable
from inboxd.services import Services

router = APIRouter(tags=["event subscriptions"])

ON_BEHALF = Scope.MANAGE_SCENARIOS_ON_BEHALF_OF_USER
BoolFlag = Annotated[str | None, Query(pattern="^(1|0|true|false)$")]

Change = Callable[[AsyncConnection], Awaitable[object]]


async def _changed(services: Services, scenario_id: str, change: Change, *, status_code: int = 200) -> JSON:
    """Make the change and answer with the scenario as it then is, read in the same transaction."""
    async with services.db.write() as conn:
        await change(conn)
        scenario = await manage.load(conn, scenario_id)
    return JSON(scenario, status_code=status_code)


async def _created(services: Services, create: Callable[[AsyncConnection], Awaitable[tuple[str, str]]]) -> JSON:
    """A new scenario: 201 with it and its signing secret, which only this response shows."""
    async with services.db.write() as conn:
        scenario_id, secret = await create(conn)
        scenario = await manage.load(conn, scenario_id)
    return JSON({**scenario, "signingSecret": secret}, status_code=201)


_IMPORT_EXAMPLE = {
    "data": {
        "version": "v1",
        "name": "(SUB) New Incoming Messages",
        "description": "Sends a webhook for each new incoming message",
        "triggerEvents": ["domain.message.created"],
        "loaders": {"afterConditions": [{"name": "chat", "alias": "chat", "params": {
            "id": {"##provide": {"provider": "message", "key": "parent_chat"}}}}]},
        "conditions": [[{"name": "filtrex", "params": {
            "expression": 'direction == "incoming"',
            "value": {"##provide": {"provider": "message", "key": "message"}}}}]],
        "actions": [{"name": "request", "params": {
            "url": "https://example.com/inboxd-events", "method": "post", "json": True,
            "data": {"eventName": "newIncomingMessage", "eventData": {
                "message": {"##provide": {"provider": "message", "key": "message"}},
                "chat": {"##provide": {"provider": "chat", "key": "chat"}}}}}}],
        "options": {"unorderedActions": False},
    },
    "asStatus": "active",
}


@router.post(
    "/scenarios/manage/import",
    summary="Import Subscription",
    description=(
        "Create a scenario (an event subscription) from a ready-made template. 201 with the scenario object; "
        "`signingSecret` (an addition to the reference) keys the `X-Inboxd-Signature` of its deliveries and is "
        "shown only here. See docs/events.md."
    ),
    status_code=201,
    **require(
        Scope.CREATE_SCENARIOS,
        ON_BEHALF,
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
            "schema": {"type": "object"}, "example": _IMPORT_EXAMPLE}}}},
    ),
    **answers(ok("ScenarioCreated", 201, links={
        "Activate": link("Activate Subscription", scenarioId="$response.body#/_id"),
        "Inactivate": link("Inactivate Subscription", scenarioId="$response.body#/_id"),
        "Runs": link("List Scenario Runs", scenarioId="$response.body#/_id"),
        "Delete": link("Delete Subscription", scenarioId="$response.body#/_id"),
    })),
)
async def import_subscription(request: Request, services: Annotated[Services, Depends(get_services)]) -> JSON:
    parsed = parse_import(await json_body(request), allow_private=services.settings.events_allow_private_urls)
    return await _created(services, lambda conn: manage.import_scenario(conn, parsed, now_ms()))


@router.get(
    "/scenarios/manage",
    summary="List All Subscriptions",
    description="`{total, scenarios}`, oldest first. `includeSystem=true` adds built-in scenarios (inboxd has none).",
    **require(Scope.VIEW_SCENARIOS, ON_BEHALF),
    **answers(ok("ScenarioList")),
)
async def list_subscriptions(
    services: Annotated[Services, Depends(get_services)],
    include_system: Annotated[BoolFlag, Query(alias="includeSystem")] = None,
    limit: limit_param(1000) = 100,
    skip: skip_param() = 0,
) -> JSON:
    async with services.db.read() as conn:
        rows, total = await events_store.list_scenarios(
            conn, include_system=include_system in ("1", "true"), limit=limit, skip=skip
        )
        revisions = await events_store.revisions_of(conn, [r["id"] for r in rows])
    return JSON({"total": total, "scenarios": [manage.scenario_object(r, revisions[r["id"]]) for r in rows]})


@router.post(
    "/scenarios/manage/{scenarioId}/activate",
    summary="Activate Subscription",
    description=(
        "Resume a subscription: its latest revision (or `{\"version\": n}`) becomes the active one. "
        "Optional body `{version?, userUid?}`. 200 with the scenario object."
    ),
    **require(Scope.ACTIVATE_INACTIVATE_SCENARIOS, ON_BEHALF),
    **answers(
        ok("Scenario"), scenario_not_found(SCENARIO_ID),
        RuleRefused("This scenario has only a draft, and drafts never run.", code="scenario_has_no_revision"),
    ),
)
async def activate_subscription(
    scenarioId: str,  # noqa: N803
    request: Request,
    services: Annotated[Services, Depends(get_services)],
) -> JSON:
    body = bodies.parse(await json_body(request, empty={}), {"version": bodies.version, "userUid": bodies.uid})
    return await _changed(services, scenarioId, lambda conn: manage.activate(
        conn, scenarioId, version=body.get("version"), user_uid=body.get("userUid"), now=now_ms()))


@router.post(
    "/scenarios/manage/{scenarioId}/inactivate",
    summary="Inactivate Subscription",
    description="Pause a subscription: no new events are queued for it. 200 with the scenario object.",
    **require(Scope.ACTIVATE_INACTIVATE_SCENARIOS, ON_BEHALF),
    **answers(ok("Scenario"), scenario_not_found(SCENARIO_ID)),
)
async def inactivate_subscription(scenarioId: str, services: Annotated[Services, Depends(get_services)]) -> JSON:  # noqa: N803
    return await _changed(services, scenarioId, lambda conn: manage.inactivate(conn, scenarioId, now=now_ms()))


@router.delete(
    "/scenarios/manage/{scenarioId}",
    summary="Delete Subscription",
    description="Delete a subscription with its revisions, its undelivered events and its runs.",
    **require(Scope.DELETE_SCENARIOS, ON_BEHALF),
    **answers(ok("ScenarioDeleted"), scenario_not_found(SCENARIO_ID)),
)
async def delete_subscription(scenarioId: str, services: Annotated[Services, Depends(get_services)]) -> JSON:  # noqa: N803
    async with services.db.write() as conn:
        await manage.delete(conn, scenarioId)
    return JSON({"success": True, "_id": scenarioId})


@router.get(
    "/scenarios/manage/{scenarioId}/runs",
    summary="List Scenario Runs",
    description=(
        "`{total, runs}`, newest first: one run per event delivered to this subscription, with every attempt "
        "(status code, latency, error). `status` filters: pending, delivered, failed."
    ),
    **require(Scope.VIEW_SCENARIOS_RUNS),
    **answers(ok("ScenarioRunList"), scenario_not_found(SCENARIO_ID)),
)
async def list_runs(
    scenarioId: str,  # noqa: N803
    services: Annotated[Services, Depends(get_services)],
    status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
    limit: limit_param(500) = 50,
    skip: skip_param() = 0,
) -> JSON:
    async with services.db.read() as conn:
        await manage.load(conn, scenarioId)  # 404 for an unknown scenario
        rows, attempts, total = await events_store.list_runs(conn, scenarioId, state=status, limit=limit, skip=skip)
    return JSON({"total": total, "runs": [manage.run_object(r, attempts[r["id"]]) for r in rows]})


# --- authoring: copy, create empty, drafts, revisions, components ----------------------------

ScenarioId = Annotated[str, Path(alias="scenarioId")]
# A path parameter names a thing or nothing (404), as every other path parameter: not a 400.
Version = Annotated[str, Path(description="the revision's version (1, 2, …)")]
MAX_VERSION = 2_000_000_000


def _version(scenario_id: str, version: str) -> int:
    if not (version.isascii() and version.isdigit() and len(version) <= 10 and 1 <= int(version) <= MAX_VERSION):
        raise authoring.revision_not_found(scenario_id, version)
    return int(version)


# The documented answers of the authoring endpoints (api/contract.py).
NO_SCENARIO = scenario_not_found(SCENARIO_ID)
NO_REVISION = authoring.revision_not_found(SCENARIO_ID, 3)
NO_REVISION_YET = RuleRefused("This scenario has only a draft, and Copy Scenario copies a revision: create a revision "
                              "first.", code="scenario_has_no_revision")
WOULD_BE_EMPTY = Conflict(f"Revision 1 is all scenario {SCENARIO_ID} has left; delete the scenario itself instead.",
                          code="scenario_would_be_empty")
INVALID_SCENARIO = InvalidRequest(
    "The operations are invalid, nothing was changed: body[0].condition.params.expression: the expression does not "
    "parse.", code="invalid_scenario",
    details=[problem("body[0].condition.params.expression", "the expression does not parse")])
_AUTHORING_LINKS = {
    "UpdateDraft": link("Update Draft", scenarioId="$response.body#/_id"),
    "CreateRevision": link("Create Revision", scenarioId="$response.body#/_id"),
    "Delete": link("Delete Subscription", scenarioId="$response.body#/_id"),
}


def _body_doc(example: object) -> dict[str, object]:
    return {"requestBody": {"required": False, "content": {"application/json": {"schema": {}, "example": example}}}}


@router.get(
    "/scenarios/manage/components",
    summary="List Components",
    description=(
        "What a scenario may contain: the trigger events (with the providers their placeholders can read), the "
        "loaders, the condition kinds and the actions, each with its parameters and an example, and the operations "
        "of Update Draft. Made from the tables the validator checks scenarios with."
    ),
    **require(Scope.VIEW_SCENARIOS, ON_BEHALF),
    **answers(ok("ScenarioComponents")),
)
async def list_components() -> JSON:
    return JSON({"success": True, **components()})


@router.post(
    "/scenarios/manage/create",
    summary="Create Empty Scenario",
    description=(
        "A new scenario with an empty draft: `{name, description?, authorUid?}` → 201, the scenario object + "
        "`signingSecret` (shown only here). Build it with Update Draft, then Create Revision."
    ),
    status_code=201,
    **require(Scope.CREATE_SCENARIOS, ON_BEHALF, openapi_extra=_body_doc({"name": "Orders to the CRM"})),
    **answers(ok("ScenarioCreated", 201, links=_AUTHORING_LINKS), INVALID_SCENARIO),
)
async def create_empty_scenario(request: Request, services: Annotated[Services, Depends(get_services)]) -> JSON:
    body = bodies.parse(await json_body(request), {"name": bodies.name, "description": bodies.long_text,
                                                   "authorUid": bodies.uid}, required=frozenset({"name"}))
    definition = authoring.empty_definition(body["name"], body.get("description"),
                                            allow_private=services.settings.events_allow_private_urls)
    return await _created(services, lambda conn: authoring.create_empty(
        conn, definition, author_uid=body.get("authorUid"), now=now_ms()))


@router.post(
    "/scenarios/manage/{scenarioId}/copy",
    summary="Copy Scenario",
    description=(
        "A new, inactive scenario whose revision 1 is a copy of revision `fromVersion` (default: the latest) of this "
        "one: `{fromVersion?, newName?, authorUid?}` → 201, the new scenario object + its own `signingSecret`."
    ),
    status_code=201,
    **require(Scope.CREATE_SCENARIOS, ON_BEHALF, openapi_extra=_body_doc({"fromVersion": 2, "newName": "My copy"})),
    **answers(ok("ScenarioCreated", 201, links={"Activate": link("Activate Subscription", scenarioId="$response.body#/_id"),
                                               "Delete": _AUTHORING_LINKS["Delete"]}),
              NO_SCENARIO, NO_REVISION, NO_REVISION_YET,
              RuleRefused("Revision 2 no longer passes today's rules (actions[0].params.url: must be http or https); "
                          "it cannot be copied.", code="revision_invalid")),
)
async def copy_scenario(
    scenario_id: ScenarioId, request: Request, services: Annotated[Services, Depends(get_services)]
) -> JSON:
    body = bodies.parse(await json_body(request, empty={}),
                        {"fromVersion": bodies.version, "newName": bodies.name, "authorUid": bodies.uid})
    return await _created(services, lambda conn: authoring.copy_scenario(
        conn, scenario_id, from_version=body.get("fromVersion"), new_name=body.get("newName"),
        author_uid=body.get("authorUid"), now=now_ms()))


@router.patch(
    "/scenarios/manage/{scenarioId}/draft",
    summary="Update Draft",
    description=(
        "Edit the scenario's draft (started from its latest revision if it has none) with a list of operations, "
        "applied in order, all or nothing: `[{\"op\": \"addCondition\", \"condition\": {…}}, …]`, or "
        "`{operations, authorUid?}`. Each is checked by the validator of Import; a bad one is a 400 naming it "
        "(`body[2].condition.params.expression`) and nothing changes. 200 with the scenario object."
    ),
    **require(Scope.EDIT_SCENARIOS, ON_BEHALF, openapi_extra=_body_doc(
        [{"op": "addCondition", "group": 0, "condition": {"name": "filtrex", "params": {"expression": 'text == "help"'}}},
         {"op": "rename", "name": "Help requests"}])),
    **answers(ok("Scenario", links={"CreateRevision": link("Create Revision", scenarioId="$request.path.scenarioId"),
                                    "DiscardDraft": link("Discard Draft", scenarioId="$request.path.scenarioId")}),
              NO_SCENARIO, INVALID_SCENARIO,
              RuleRefused("This scenario has neither a revision nor a draft to edit.", code="scenario_has_no_revision")),
)
async def update_draft(
    scenario_id: ScenarioId, request: Request, services: Annotated[Services, Depends(get_services)]
) -> JSON:
    raw = await json_body(request)
    bad = unstorable(raw)
    author_uid, path = None, "body"
    if isinstance(raw, dict) and bad is None:  # the object form: {operations, authorUid?}
        fields = bodies.parse(raw, {"operations": lambda _v: None, "authorUid": bodies.uid},
                              required=frozenset({"operations"}))
        raw, author_uid, path = fields["operations"], fields.get("authorUid"), "body.operations"
    problems = Problems()
    if bad is not None:
        problems.add(*bad)
    operations = [] if bad else parse_operations(raw, path, problems)
    problems.raise_if_any("The operations are invalid, nothing was changed", code="invalid_scenario")
    return await _changed(services, scenario_id, lambda conn: authoring.update_draft(
        conn, scenario_id, operations, path=path, author_uid=author_uid,
        allow_private=services.settings.events_allow_private_urls, now=now_ms()))


@router.delete(
    "/scenarios/manage/{scenarioId}/draft",
    summary="Discard Draft",
    description="Drop the scenario's draft (an addition to the reference). 200 with the scenario object.",
    **require(Scope.EDIT_SCENARIOS, ON_BEHALF),
    **answers(ok("Scenario"), NO_SCENARIO, WOULD_BE_EMPTY,
              NotFound(f"Scenario {SCENARIO_ID} has no draft.", code="draft_not_found")),
)
async def discard_draft(scenario_id: ScenarioId, services: Annotated[Services, Depends(get_services)]) -> JSON:
    return await _changed(services, scenario_id, lambda conn: authoring.discard_draft(conn, scenario_id))


@router.post(
    "/scenarios/manage/{scenarioId}/revisions",
    summary="Create Revision",
    description=(
        "The draft becomes the next version (inactive; `parentVersion` is the version it was started from), "
        "checked whole as Import checks a scenario: `{revisionComment?, authorUid?}` → 201, the scenario object. "
        "409 `no_draft` when there is no draft (e.g. a concurrent Create Revision took it)."
    ),
    status_code=201,
    **require(Scope.EDIT_SCENARIOS, ON_BEHALF, openapi_extra=_body_doc({"revisionComment": "only help requests"})),
    **answers(ok("Scenario", 201, links={
        "Activate": link("Activate Subscription", scenarioId="$request.path.scenarioId"),
        "DeleteRevision": link("Delete Revision", scenarioId="$request.path.scenarioId",
                               version="$response.body#/inactiveRevisions/0/version"),
    }), NO_SCENARIO, authoring.no_draft(SCENARIO_ID)),
)
async def create_revision(
    scenario_id: ScenarioId, request: Request, services: Annotated[Services, Depends(get_services)]
) -> JSON:
    body = bodies.parse(await json_body(request, empty={}), {"revisionComment": bodies.long_text, "authorUid": bodies.uid})
    return await _changed(services, scenario_id, lambda conn: authoring.create_revision(
        conn, scenario_id, comment=body.get("revisionComment"), author_uid=body.get("authorUid"),
        allow_private=services.settings.events_allow_private_urls, now=now_ms()), status_code=201)


@router.delete(
    "/scenarios/manage/{scenarioId}/revisions/{version}",
    summary="Delete Revision",
    description=(
        "Delete one revision. The active revision cannot be deleted while the scenario is active (409 "
        "`revision_active`), nor the last thing a scenario has (409 `scenario_would_be_empty`). 200 with the "
        "scenario object."
    ),
    **require(Scope.EDIT_SCENARIOS, ON_BEHALF),
    **answers(ok("Scenario"), NO_SCENARIO, NO_REVISION, WOULD_BE_EMPTY, Conflict(
        f"Revision 1 is the active revision of scenario {SCENARIO_ID}: inactivate the scenario, or activate another "
        "revision, before deleting it.", code="revision_active")),
)
async def delete_revision(
    scenario_id: ScenarioId, version: Version, services: Annotated[Services, Depends(get_services)]
) -> JSON:
    number = _version(scenario_id, version)
    return await _changed(services, scenario_id, lambda conn: authoring.delete_revision(conn, scenario_id, number))
