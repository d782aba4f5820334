"""Agents and departments (inboxd additions: Texter manages them in its UI). Scope: Manage agents.
docs/chats.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from inboxd.agents.requests import parse_agent, parse_department, parse_presence
from inboxd.agents.service import Directory
from inboxd.api.deps import get_services, require
from inboxd.api.request_body import body_examples, json_body
from inboxd.api.responses import JSON
from inboxd.domain.scopes import Scope
from inboxd.services import Services

router = APIRouter(tags=["agents"])

Svc = Annotated[Services, Depends(get_services)]
_MANAGE = Scope.MANAGE_AGENTS

_AGENT_EXAMPLE = {"value": {"email": "tyler@example.com", "displayName": "Tyler", "roles": ["agent"],
                            "departments": ["customer_service"], "crmId": "crm-7", "maxOpenChats": 20,
                            "password": "a long passphrase"}}
_DEPARTMENT_EXAMPLE = {"value": {"id": "customer_service", "name": "Customer service", "assignment": "round_robin"}}


def _directory(services: Services) -> Directory:
    return Directory(services.db, services.events)


@router.get("/agents", summary="List Agents (inboxd)", **require(_MANAGE))
async def list_agents(services: Svc) -> JSON:
    agents = await _directory(services).list_agents()
    return JSON({"total": len(agents), "agents": agents})


@router.post(
    "/agents",
    summary="Create Agent (inboxd)",
    description="`email` and `displayName` required; `password` (8–1024 characters) is stored as an argon2 hash "
                "and never returned. Answers 201 with the Agent.",
    status_code=201,
    **require(_MANAGE, openapi_extra=body_examples({"agent": _AGENT_EXAMPLE})),
)
async def create_agent(request: Request, services: Svc) -> JSON:
    agent = await _directory(services).create_agent(parse_agent(await json_body(request), creating=True))
    return JSON(agent, status_code=201)


@router.get("/agents/{uid}", summary="Get Agent (inboxd)", **require(_MANAGE))
async def get_agent(uid: str, services: Svc) -> JSON:
    return JSON(await _directory(services).get_agent(uid))


@router.patch(
    "/agents/{uid}",
    summary="Update Agent (inboxd)",
    description="Any field of Create Agent; `departments` replaces the agent's; `active: false` deactivates "
                "(their open chats wait in their departments again). Answers the Agent.",
    **require(_MANAGE, openapi_extra=body_examples({"capacity": {"value": {"maxOpenChats": 30}},
                                                    "deactivate": {"value": {"active": False}}})),
)
async def update_agent(uid: str, request: Request, services: Svc) -> JSON:
    return JSON(await _directory(services).update_agent(uid, parse_agent(await json_body(request), creating=False)))


@router.put(
    "/agents/{uid}/presence",
    summary="Set Agent Presence (inboxd)",
    description="`online`, `away` or `offline`. Round robin gives chats to online agents only; an agent coming "
                "online takes the waiting chats of their departments, oldest first. Answers the Agent.",
    **require(_MANAGE, openapi_extra=body_examples({"online": {"value": {"presence": "online"}}})),
)
async def set_presence(uid: str, request: Request, services: Svc) -> JSON:
    return JSON(await _directory(services).set_presence(uid, parse_presence(await json_body(request))))


@router.get("/departments", summary="List Departments (inboxd)", **require(_MANAGE))
async def list_departments(services: Svc) -> JSON:
    departments = await _directory(services).list_departments()
    return JSON({"total": len(departments), "departments": departments})


@router.post(
    "/departments",
    summary="Create Department (inboxd)",
    description="`id` (a slug such as `customer_service`), `name`, `assignment` (`manual` or `round_robin`, "
                "default manual), `members` (agent uids). Answers 201 with the Department.",
    status_code=201,
    **require(_MANAGE, openapi_extra=body_examples({"department": _DEPARTMENT_EXAMPLE})),
)
async def create_department(request: Request, services: Svc) -> JSON:
    changes = parse_department(await json_body(request), creating=True)
    return JSON(await _directory(services).create_department(changes), status_code=201)


@router.patch(
    "/departments/{departmentId}",
    summary="Update Department (inboxd)",
    description="`name`, `assignment`, `members` (replaces them). Answers the Department.",
    **require(_MANAGE, openapi_extra=body_examples({"round robin": {"value": {"assignment": "round_robin"}}})),
)
async def update_department(departmentId: str, request: Request, services: Svc) -> JSON:  # noqa: N803
    changes = parse_department(await json_body(request), creating=False)
    return JSON(await _directory(services).update_department(departmentId, changes))


@router.delete(
    "/departments/{departmentId}",
    summary="Delete Department (inboxd)",
    description="409 `department_in_use` while a channel account opens chats there or open chats are in it.",
    **require(_MANAGE),
)
async def delete_department(departmentId: str, services: Svc) -> JSON:  # noqa: N803
    await _directory(services).delete_department(departmentId)
    return JSON({"success": True})
