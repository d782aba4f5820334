"""Agents and departments over HTTP (inboxd additions, scope Manage agents), and the one check of
an agent's email and password."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from inboxd.agents.credentials import verify_credentials
from inboxd.domain.scopes import Scope
from inboxd.store.tables import agents
from tests.chats.conftest import API, error_paths, make_agent, make_department
from tests.support.wa import WhatsAppRig


async def test_create_get_list_and_update_an_agent(rig: WhatsAppRig) -> None:
    await make_department(rig, "customer_service", assignment="round_robin")
    await make_department(rig, "sales")
    r = await rig.client.post(f"{API}/agents", json={
        "email": "Tyler@Example.com", "displayName": "Tyler", "crmId": "crm-7", "roles": ["agent", "admin"],
        "departments": ["customer_service"], "maxOpenChats": 20, "password": "a long passphrase"})
    assert r.status_code == 201, r.text
    agent = r.json()
    assert set(agent) == {"uid", "email", "displayName", "crmId", "roles", "departments", "active", "presence",
                          "maxOpenChats", "openChats", "created", "updatedAt"}
    assert agent["email"] == "Tyler@Example.com" and agent["roles"] == ["admin", "agent"]
    assert agent["departments"] == ["customer_service"] and agent["active"] is True and agent["presence"] == "offline"
    assert agent["maxOpenChats"] == 20 and agent["openChats"] == 0 and len(agent["uid"]) == 36
    uid = agent["uid"]

    assert (await rig.client.get(f"{API}/agents/{uid}")).json() == agent
    listed = (await rig.client.get(f"{API}/agents")).json()
    assert listed == {"total": 1, "agents": [agent]}
    r = await rig.client.patch(f"{API}/agents/{uid}", json={"displayName": "Tyler D.", "departments": ["sales"],
                                                           "maxOpenChats": None, "crmId": None})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["displayName"] == "Tyler D." and changed["departments"] == ["sales"]
    assert changed["maxOpenChats"] is None and changed["crmId"] is None
    r = await rig.client.put(f"{API}/agents/{uid}/presence", json={"presence": "away"})
    assert r.status_code == 200 and r.json()["presence"] == "away"
    departments = (await rig.client.get(f"{API}/departments")).json()
    assert departments["total"] == 2
    assert {d["id"]: d["members"] for d in departments["departments"]} == {"customer_service": [], "sales": [uid]}


async def test_the_password_is_never_returned_and_is_an_argon2_hash(rig: WhatsAppRig) -> None:
    agent = await make_agent(rig, "noa@example.com", password="correct horse battery")
    everything = json.dumps([agent, (await rig.client.get(f"{API}/agents")).json()])
    assert "correct horse" not in everything and "password" not in everything and "argon2" not in everything
    async with rig.db.read() as conn:
        stored = (await conn.execute(sa.select(agents.c.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored

    assert (await verify_credentials(rig.db, "NOA@example.com", "correct horse battery"))["uid"] == agent["uid"]
    assert await verify_credentials(rig.db, "noa@example.com", "wrong horse battery") is None
    assert await verify_credentials(rig.db, "nobody@example.com", "correct horse battery") is None
    r = await rig.client.patch(f"{API}/agents/{agent['uid']}", json={"active": False})
    assert r.status_code == 200
    assert await verify_credentials(rig.db, "noa@example.com", "correct horse battery") is None  # inactive
    no_password = await make_agent(rig, "dan@example.com")
    assert await verify_credentials(rig.db, "dan@example.com", "") is None and no_password["active"]


async def test_email_is_unique_in_any_case_and_crm_id_is_unique(rig: WhatsAppRig) -> None:
    first = await make_agent(rig, "tyler@example.com", crmId="crm-7")
    r = await rig.client.post(f"{API}/agents", json={"email": "TYLER@example.COM", "displayName": "Other"})
    assert r.status_code == 409 and r.json()["code"] == "email_taken" and error_paths(r) == {"body.email"}
    r = await rig.client.post(f"{API}/agents", json={"email": "other@example.com", "displayName": "Other",
                                                     "crmId": "crm-7"})
    assert r.status_code == 409 and r.json()["code"] == "crm_id_taken"
    second = await make_agent(rig, "noa@example.com")
    r = await rig.client.patch(f"{API}/agents/{second['uid']}", json={"email": "Tyler@Example.com"})
    assert r.status_code == 409 and r.json()["code"] == "email_taken"
    r = await rig.client.patch(f"{API}/agents/{second['uid']}", json={"email": "Noa@example.com", "crmId": "crm-7"})
    assert r.status_code == 409 and r.json()["code"] == "crm_id_taken"  # its own email is no conflict
    assert (await rig.client.get(f"{API}/agents")).json()["total"] == 2
    assert (await rig.client.get(f"{API}/agents/{first['uid']}")).json()["email"] == "tyler@example.com"


async def test_every_problem_of_an_agent_is_reported(rig: WhatsAppRig) -> None:
    r = await rig.client.post(f"{API}/agents", json={
        "email": "not an email", "displayName": "", "roles": ["owner"], "presence": "busy", "maxOpenChats": 0,
        "active": "yes", "password": "short", "departments": ["Not A Slug"], "colour": "red"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"
    assert error_paths(r) == {"body.email", "body.displayName", "body.roles[0]", "body.presence", "body.maxOpenChats",
                              "body.active", "body.password", "body.departments[0]", "body.colour"}
    assert "short" not in r.text  # a password is never echoed
    r = await rig.client.post(f"{API}/agents", json={"displayName": "No email"})
    assert r.status_code == 400 and error_paths(r) == {"body.email"}
    r = await rig.client.post(f"{API}/agents", json={"email": "a@b.c", "displayName": "A", "departments": ["ghost"]})
    assert r.status_code == 400 and error_paths(r) == {"body.departments[0]"}
    r = await rig.client.post(f"{API}/agents", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert (await rig.client.get(f"{API}/agents")).json()["total"] == 0  # nothing half-written


@pytest.mark.parametrize("uid", ["0b1c4b8e-8f3c-4b7a-9c53-6a5b0c1d2e3f", "not-a-uid"])
async def test_an_unknown_agent_is_404(rig: WhatsAppRig, uid: str) -> None:
    for method, path, body in (("GET", f"/agents/{uid}", None), ("PATCH", f"/agents/{uid}", {"displayName": "X"}),
                               ("PUT", f"/agents/{uid}/presence", {"presence": "online"})):
        r = await rig.client.request(method, f"{API}{path}", json=body)
        assert r.status_code == 404 and r.json()["code"] == "agent_not_found", (method, r.text)


async def test_presence_body(rig: WhatsAppRig) -> None:
    agent = await make_agent(rig, "tyler@example.com")
    for body in ({}, {"presence": "busy"}, {"presence": "online", "extra": 1}, []):
        r = await rig.client.put(f"{API}/agents/{agent['uid']}/presence", json=body)
        assert r.status_code == 400, (body, r.text)


async def test_departments_create_update_delete(rig: WhatsAppRig) -> None:
    tyler = await make_agent(rig, "tyler@example.com")
    created = await make_department(rig, "customer_service", members=[tyler["uid"]])
    assert created["assignment"] == "manual" and created["members"] == [tyler["uid"]] and created["name"]
    r = await rig.client.post(f"{API}/departments", json={"id": "customer_service", "name": "Again"})
    assert r.status_code == 409 and r.json()["code"] == "department_exists"
    r = await rig.client.post(f"{API}/departments", json={"id": "Customer Service", "name": "", "assignment": "lottery",
                                                          "members": ["nope"]})
    assert r.status_code == 400
    assert error_paths(r) == {"body.id", "body.name", "body.assignment", "body.members[0]"}
    r = await rig.client.patch(f"{API}/departments/customer_service",
                               json={"name": "Support", "assignment": "round_robin", "members": []})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["assignment"], r.json()["members"]) == ("Support", "round_robin", [])
    assert (await rig.client.get(f"{API}/agents/{tyler['uid']}")).json()["departments"] == []
    r = await rig.client.patch(f"{API}/departments/ghost", json={"name": "X"})
    assert r.status_code == 404 and r.json()["code"] == "department_not_found"
    r = await rig.client.patch(f"{API}/departments/customer_service", json={"id": "renamed"})
    assert r.status_code == 400 and error_paths(r) == {"body.id"}
    r = await rig.client.delete(f"{API}/departments/customer_service")
    assert r.status_code == 200 and r.json() == {"success": True}
    assert (await rig.client.get(f"{API}/departments")).json() == {"total": 0, "departments": []}
    assert (await rig.client.delete(f"{API}/departments/customer_service")).status_code == 404


async def test_a_department_in_use_is_not_deleted(rig: WhatsAppRig) -> None:
    from tests.chats.conftest import use_department

    await make_department(rig, "support")
    await use_department(rig, "support")
    chat = await rig.user_writes("972521000001")
    r = await rig.client.delete(f"{API}/departments/support")
    assert r.status_code == 409 and r.json()["code"] == "department_in_use"
    assert error_paths(r) == {"channelAccounts", "chats"}
    await use_department(rig, None)
    r = await rig.client.delete(f"{API}/departments/support")
    assert r.status_code == 409 and error_paths(r) == {"chats"}  # the open chat is still there
    assert (await rig.client.post(f"{API}/chats/{chat}/resolve")).status_code == 200
    assert (await rig.client.delete(f"{API}/departments/support")).status_code == 200


async def test_agents_and_departments_need_manage_agents(rig: WhatsAppRig, make_token) -> None:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {await make_token(Scope.MANAGE_ALL_CHATS, Scope.LIST_ALL_CHATS)}"}
    for method, path in (("GET", "/agents"), ("POST", "/agents"), ("GET", "/agents/x"), ("PATCH", "/agents/x"),
                         ("PUT", "/agents/x/presence"), ("GET", "/departments"), ("POST", "/departments"),
                         ("PATCH", "/departments/x"), ("DELETE", "/departments/x")):
        r = await rig.client.request(method, f"{API}{path}", json={}, headers=headers)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["details"] == [{"scope": "Manage agents", "reason": "missing scope"}]
    schema = (await rig.client.get(f"{API}/openapi.json")).json()
    assert schema["paths"]["/server/api/v2/agents"]["post"]["x-required-scopes"] == ["Manage agents"]
    assert schema["paths"]["/server/api/v2/chats/assign"]["post"]["x-required-scopes"] == ["Manage all chats"]
