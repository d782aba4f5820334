"""Channel health (reference §9): List Channel Health Problems (any valid token) and Resolve
Channel Health Problem (Manage channels). The reference names neither path nor parameters;
inboxd's choice is in docs/channel-health.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from inboxd.api.contract import answers, link, ok
from inboxd.api.deps import get_services, require
from inboxd.api.responses import JSON
from inboxd.api.schemas import PROBLEM_ID
from inboxd.domain.clock import now_ms
from inboxd.domain.errors import NotFound
from inboxd.domain.ids import is_id
from inboxd.domain.scopes import Scope
from inboxd.health import problems as problems_store
from inboxd.services import Services

router = APIRouter(tags=["channel health"])

CHANNELS = "^(whatsapp|messenger|instagram|website_chat|email|sms)$"  # reference §2.3


def problem_not_found(problem_id: str) -> NotFound:
    return NotFound(f"No channel health problem with id {problem_id!r}.", code="problem_not_found")


@router.get(
    "/channels/problems",
    summary="List Channel Health Problems",
    description="The active problems (with `includeResolved`, also resolved ones), newest first: "
    "`{total, problems}`. Any valid token. See docs/channel-health.md.",
    **require(),
    **answers(ok("ProblemList", links={"Resolve": link("Resolve Channel Health Problem",
                                                       problemId="$response.body#/problems/0/_id")})),
)
async def list_problems(
    services: Annotated[Services, Depends(get_services)],
    severity: Annotated[str | None, Query(pattern="^(error|warning)$")] = None,
    account_id: Annotated[str | None, Query(alias="accountId", max_length=64)] = None,
    channel: Annotated[str | None, Query(pattern=CHANNELS)] = None,
    include_resolved: Annotated[str | None, Query(alias="includeResolved", pattern="^(1|0|true|false)$")] = None,
    skip: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> JSON:
    query = problems_store.ProblemQuery(
        severity=severity,
        account_id=account_id.lstrip("+") if account_id else None,
        channel=channel,
        include_resolved=include_resolved in ("1", "true"),
        skip=skip,
        limit=limit,
    )
    async with services.db.read() as conn:
        found, total = await problems_store.list_problems(conn, query)
    return JSON({"total": total, "problems": found})


@router.post(
    "/channels/problems/{problemId}/resolve",
    summary="Resolve Channel Health Problem",
    description="Marks the problem resolved by an operator (`resolvedAt`, `resolvedBy: operator`); Channel "
    "Health Problem Resolved fires once. Resolving a resolved problem changes nothing. If the signal is still "
    "there, the next one raises a new problem.",
    **require(Scope.MANAGE_CHANNELS),
    **answers(ok("ProblemResolved"), problem_not_found(PROBLEM_ID)),
)
async def resolve_problem(problemId: str, services: Annotated[Services, Depends(get_services)]) -> JSON:  # noqa: N803
    if not is_id(problemId):
        raise problem_not_found(problemId)
    async with services.db.write() as conn:
        problem = await problems_store.resolve_by_operator(conn, services.events, problemId, now_ms())
    if problem is None:
        raise problem_not_found(problemId)
    return JSON({"success": True, "problem": problem})
