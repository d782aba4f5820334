"""Agents and departments (inboxd additions: Texter manages them in its UI). Scope: Manage agents.
docs/chats.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from inboxd.agents.requests import parse_agent, parse_department, parse_presence
from inboxd.agents.service import Directory
from inboxd.api.contract import answers, link, ok
from inboxd.api.deps import get_services, require
from inboxd.api.request_body import body_examples, json_body
from inboxd.api.responses import JSON
from inboxd.api.schemas import AGENT_UID, ref
from inboxd.domain.errors import Conflict, agent_not_found, department_not_found
from inboxd.domain.scopes import Scope
from inboxd.services import Services

router = APIRouter(tags=["agents"])

Svc = Annotated[Services, Depends(get_services)]
_MANAGE = Scope.MANAGE_AGENTS

_AGENT_EXAMPLE = {"value": {"email": "tyler@example.com", "displayName": "Tyler", "roles": ["agent"],
                            "departments": ["customer_service"], "crmId": "crm-7", "maxOpenChats": 20,
                            "password": "a long passphrase"}}
_DEPARTMENT_EXAMPLE = {"value": {"id": "customer_service", "name": "Customer service", "assignment": "round_robin"}}

# The documented answers (api/contract.py): the errors these routes give, and the stateful links.
NO_AGENT, NO_DEPARTMENT = agent_not_found(AGENT_UID), department_not_found("customer_service")
EMAIL_TAKEN = Conflict("An agent with the email 'tyler@example.com' already exists.", code="email_taken",
                       details=[{"path": "body.email", "reason": "another agent has this email"}])
CRM_ID_TAKEN = Conflict("An agent with the crmId 'crm-7' already exists.", code="crm_id_taken",
                        details=[{"path": "body.crmId", "reason": "another agent has this crmId"}])
_AGENT_LINKS = {
    "GetAgent": link("Get Agent (inboxd)", uid="$response.body#/uid"),
    "UpdateAgent": link("Update Agent (inboxd)", uid="$response.body#/uid"),
    "SetPresence": link("Set Agent Presence (inboxd)", uid="$response.body#/uid"),
}
_DEPARTMENT_LINKS = {
    "UpdateDepartment": link("Update Department (inboxd)", departmentId="$response.body#/id"),
    "DeleteDepartment": link("Delete Department (inboxd)", departmentId="$response.body#/id"),
}


def _directory(services: Services) -> Directory:
    return Directory(services.db, services.events)


@router.get("/agents", summary="List Agents (inboxd)", **require(_MANAGE), **answers(ok("AgentList")))
async def list_agents(services: Svc) -> JSON:
    agents = await _directory(services).list_agents()
    return JSON({"total": len(agents), "agents": agents})


@router.post(
    "/agents",
    summary="Create Agent (inboxd)",
    description="`email` and `displayName` required; `password` (8–1024 characters) is stored as an argon2 hash "
                "and never returned. Answers 201 with the Agent.",
    status_code=201,
    **require(_MANAGE, openapi_extra=body_examples({"agent": _AGENT_EXAMPLE},
                                                   schema=ref("AgentCreateRequest"))),
    **answers(ok("Agent", 201, links=_AGENT_LINKS), NO_DEPARTMENT, EMAIL_TAKEN, CRM_ID_TAKEN),
)
async def create_agent(request: Request, services: Svc) -> JSON:
    agent = await _directory(services).create_agent(parse_agent(await json_body(request), creating=True))
    return JSON(agent, status_code=201)


@router.get("/agents/{uid}", summary="Get Agent (inboxd)", **require(_MANAGE), **answers(ok("Agent"), NO_AGENT))
async def get_agent(uid: str, services: Svc) -> JSON:
    return JSON(await _directory(services).get_agent(uid))


@router.patch(
    "/agents/{uid}",
    summary="Update Agent (inboxd)",
    description="Any field of Create Agent; `departments` replaces the agent's; `active: false` deactivates "
                "(their open chats wait in their departments again). Answers the Agent.",
    **require(_MANAGE, openapi_extra=body_examples({"capacity": {"value": {"maxOpenChats": 30}},
                                                    "deactivate": {"value": {"active": False}}},
                                                   schema=ref("AgentUpdateRequest"))),
    **answers(ok("Agent"), NO_AGENT, NO_DEPARTMENT, EMAIL_TAKEN, CRM_ID_TAKEN),
)
async def update_agent(uid: str, request: Request, services: Svc) -> JSON:
    return JSON(await _directory(services).update_agent(uid, parse_agent(await json_body(request), creating=False)))


@router.put(
    "/agents/{uid}/presence",
    summary="Set Agent Presence (inboxd)",
    description="`online`, `away` or `offline`. Round robin gives chats to online agents only; an agent coming "
                "online takes the waiting chats of their departments, oldest first. Answers the Agent.",
    **require(_MANAGE, openapi_extra=body_examples({"online": {"value": {"presence": "online"}}},
                                                   schema=ref("PresenceRequest"))),
    **answers(ok("Agent"), NO_AGENT),
)
async def set_presence(uid: str, request: Request, services: Svc) -> JSON:
    return JSON(await _directory(services).set_presence(uid, parse_presence(await json_body(request))))


@router.get("/departments", summary="List Departments (inboxd)", **require(_MANAGE), **answers(ok("DepartmentList")))
async def list_departments(services: Svc) -> JSON:
    departments = await _directory(services).list_departments()
    return JSON({"total": len(departments), "departments": departments})


@router.post(
    "/departments",
    summary="Create Department (inboxd)",
    description="`id` (a slug such as `customer_service`), `name`, `assignment` (`manual` or `round_robin`, "
                "default manual), `members` (agent uids). Answers 201 with the Department.",
    status_code=201,
    **require(_MANAGE, openapi_extra=body_examples({"department": _DEPARTMENT_EXAMPLE},
                                                   schema=ref("DepartmentCreateRequest"))),
    **answers(ok("Department", 201, links=_DEPARTMENT_LINKS),
              Conflict("A department with the id 'customer_service' already exists.", code="department_exists",
                       details=[{"path": "body.id", "reason": "already exists"}])),
)
async def create_department(request: Request, services: Svc) -> JSON:
    changes = parse_department(await json_body(request), creating=True)
    return JSON(await _directory(services).create_department(changes), status_code=201)


@router.patch(
    "/departments/{departmentId}",
    summary="Update Department (inboxd)",
    description="`name`, `assignment`, `members` (replaces them). Answers the Department.",
    **require(_MANAGE, openapi_extra=body_examples({"round robin": {"value": {"assignment": "round_robin"}}},
                                                   schema=ref("DepartmentUpdateRequest"))),
    **answers(ok("Department", links={"DeleteDepartment": _DEPARTMENT_LINKS["DeleteDepartment"]}), NO_DEPARTMENT),
)
async def update_department(departmentId: str, request: Request, services: Svc) -> JSON:  # noqa: N803
    changes = parse_department(await json_body(request), creating=False)
    return JSON(await _directory(services).update_department(departmentId, changes))


@router.delete(
    "/departments/{departmentId}",
    summary="Delete Department (inboxd)",
    description="409 `department_in_use` while a channel account opens chats there or open chats are in it.",
    **require(_MANAGE),
    **answers(ok("Success"), NO_DEPARTMENT, Conflict(
        "The department 'customer_service' is in use: move its chats and change the channel accounts' default "
        "department first.", code="department_in_use",
        details=[{"path": "chats", "reason": "3 open chats are in this department"}])),
)
async def delete_department(departmentId: str, services: Svc) -> JSON:  # noqa: N803
    await _directory(services).delete_department(departmentId)
    return JSON({"success": True})
