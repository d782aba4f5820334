"""Event subscriptions (Texter scenarios, reference §10.1): Import Subscription and List All
Subscriptions at the reference's paths; activate, inactivate, delete and runs at paths the
reference does not give (docs/events.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from inboxd.api.contract import answers, link, ok
from inboxd.api.deps import get_services, require
from inboxd.api.query import limit_param, skip_param
from inboxd.api.request_body import json_body
from inboxd.api.responses import JSON
from inboxd.api.schemas import SCENARIO_ID
from inboxd.domain.clock import now_ms
from inboxd.domain.errors import InvalidRequest, Problems, RuleRefused, problem
from inboxd.domain.scopes import Scope
from inboxd.events import manage
from inboxd.events import store as events_store
from inboxd.events.manage import scenario_not_found
from inboxd.events.scenario import parse_import
from inboxd.events.transport import literal_address_refusal
from inboxd.services import Services

router = APIRouter(tags=["event subscriptions"])

ON_BEHALF = Scope.MANAGE_SCENARIOS_ON_BEHALF_OF_USER
BoolFlag = Annotated[str | None, Query(pattern="^(1|0|true|false)$")]

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
    parsed = parse_import(await json_body(request))
    allow_private = services.settings.events_allow_private_urls
    refused = [
        problem(f"body.data.actions[{i}].params.url", why)
        for i, action in enumerate(parsed.compiled.actions)
        if (why := literal_address_refusal(action.url, allow_private=allow_private))
    ]
    if refused:
        raise InvalidRequest(f"The scenario is invalid: {refused[0]['path']}: {refused[0]['reason']}.",
                             code="invalid_scenario", details=refused)
    async with services.db.write() as conn:
        scenario_id, secret = await manage.import_scenario(conn, parsed, now_ms())
        body = await manage.load(conn, scenario_id)
    return JSON({**body, "signingSecret": secret}, status_code=201)


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
    body = await json_body(request, empty={})
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be an object {version?, userUid?}.", details=[problem("body", "must be an object")])
    problems = Problems()
    version = body.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        problems.add("body.version", "must be a revision number (1, 2, …)")
    user_uid = body.get("userUid")
    if user_uid is not None and (not isinstance(user_uid, str) or not 1 <= len(user_uid) <= 128):
        problems.add("body.userUid", "must be a string of 1 to 128 characters")
    for key in sorted(set(body) - {"version", "userUid"}):
        problems.add(f"body.{key}", "unknown field")
    problems.raise_if_any("The request is invalid")
    async with services.db.write() as conn:
        await manage.activate(conn, scenarioId, version=version, user_uid=user_uid, now=now_ms())
        scenario = await manage.load(conn, scenarioId)
    return JSON(scenario)


@router.post(
    "/scenarios/manage/{scenarioId}/inactivate",
    summary="Inactivate Subscription",
    description="Pause a subscription: no new events are queued for it. 200 with the scenario object.",
    **require(Scope.ACTIVATE_INACTIVATE_SCENARIOS, ON_BEHALF),
    **answers(ok("Scenario"), scenario_not_found(SCENARIO_ID)),
)
async def inactivate_subscription(scenarioId: str, services: Annotated[Services, Depends(get_services)]) -> JSON:  # noqa: N803
    async with services.db.write() as conn:
        await manage.inactivate(conn, scenarioId, now=now_ms())
        scenario = await manage.load(conn, scenarioId)
    return JSON(scenario)


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
