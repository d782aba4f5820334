"""Agent and department request bodies → the changes they ask for, every problem reported with
its JSON path. The API and the CLI build the same bodies, so they share these rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inboxd.domain import agents as A
from inboxd.domain.errors import Problems
from inboxd.templates.validation import boolean, choice, obj, text

_AGENT_FIELDS = ("email", "displayName", "crmId", "roles", "departments", "active", "presence", "maxOpenChats",
                 "password")
_DEPARTMENT_FIELDS = ("id", "name", "assignment", "members")


@dataclass
class AgentChanges:
    """Column values to write, the departments to set (None: unchanged), and the password to
    hash (None: unchanged; never shown in a repr)."""

    values: dict[str, Any] = field(default_factory=dict)
    departments: list[str] | None = None
    password: str | None = field(default=None, repr=False)


@dataclass
class DepartmentChanges:
    values: dict[str, Any] = field(default_factory=dict)
    members: list[str] | None = None


def parse_agent(body: Any, *, creating: bool) -> AgentChanges:
    problems = Problems()
    out = AgentChanges()
    if obj(body, "body", problems, _AGENT_FIELDS) is None:
        problems.raise_if_any("The agent is not valid")
    if creating:
        for required in ("email", "displayName"):
            if required not in body:
                problems.add(f"body.{required}", "is required")
    values = out.values
    if "email" in body:
        email = text(body["email"], "body.email", problems, A.EMAIL, pattern=A.EMAIL_PATTERN, pattern_reason=A.EMAIL_RULE)
        if email is not None:
            values["email"], values["email_key"] = email.strip(), A.email_key(email)
    if "displayName" in body:
        values["display_name"] = text(body["displayName"], "body.displayName", problems, A.DISPLAY_NAME)
    if "crmId" in body:
        values["crm_id"] = None if body["crmId"] is None else text(body["crmId"], "body.crmId", problems, A.CRM_ID)
    if "roles" in body:
        values["roles"] = _roles(body["roles"], problems)
    elif creating:
        values["roles"] = [A.Role.AGENT.value]
    if "departments" in body:
        out.departments = _slugs(body["departments"], "body.departments", problems)
    if "active" in body:
        values["active"] = boolean(body["active"], "body.active", problems)
    elif creating:
        values["active"] = True
    if "presence" in body:
        values["presence"] = choice(body["presence"], "body.presence", problems, [p.value for p in A.Presence])
    elif creating:
        values["presence"] = A.Presence.OFFLINE.value
    if "maxOpenChats" in body:
        values["max_open_chats"] = _capacity(body["maxOpenChats"], problems)
    if "password" in body:
        # the reason never repeats the value
        if not isinstance(body["password"], str) or len(body["password"]) not in A.PASSWORD:
            problems.add("body.password", f"must be a string of {int(A.PASSWORD.min or 0)} to "
                                          f"{int(A.PASSWORD.max or 0)} characters")
        else:
            out.password = body["password"]
    problems.raise_if_any("The agent is not valid")
    return out


def parse_presence(body: Any) -> str:
    problems = Problems()
    presence = None
    if obj(body, "body", problems, ("presence",)) is not None:
        if "presence" not in body:
            problems.add("body.presence", "is required: online, away or offline")
        else:
            presence = choice(body["presence"], "body.presence", problems, [p.value for p in A.Presence])
    problems.raise_if_any("The presence is not valid")
    assert presence is not None
    return presence


def parse_department(body: Any, *, creating: bool) -> DepartmentChanges:
    problems = Problems()
    out = DepartmentChanges()
    if obj(body, "body", problems, _DEPARTMENT_FIELDS if creating else _DEPARTMENT_FIELDS[1:]) is None:
        problems.raise_if_any("The department is not valid")
    if creating:
        for required in ("id", "name"):
            if required not in body:
                problems.add(f"body.{required}", "is required")
        if "id" in body:
            out.values["id"] = text(body["id"], "body.id", problems, A.DEPARTMENT_ID,
                                    pattern=A.DEPARTMENT_ID_PATTERN, pattern_reason=A.DEPARTMENT_ID_RULE)
    if "name" in body:
        out.values["name"] = text(body["name"], "body.name", problems, A.DEPARTMENT_NAME)
    if "assignment" in body:
        out.values["assignment"] = choice(body["assignment"], "body.assignment", problems,
                                          [a.value for a in A.Assignment])
    elif creating:
        out.values["assignment"] = A.Assignment.MANUAL.value
    if "members" in body:
        out.members = _uids(body["members"], "body.members", problems)
    problems.raise_if_any("The department is not valid")
    return out


def _roles(value: Any, problems: Problems) -> list[str] | None:
    allowed = [r.value for r in A.Role]
    if not isinstance(value, list) or not value:
        problems.add("body.roles", f"must be a non-empty array of {' and/or '.join(allowed)}")
        return None
    roles = [choice(v, f"body.roles[{i}]", problems, allowed) for i, v in enumerate(value)]
    if any(r is None for r in roles):
        return None
    return sorted(set(roles))  # type: ignore[arg-type]


def _capacity(value: Any, problems: Problems) -> int | None:
    if value is None:
        return None  # no limit
    low, high = int(A.MAX_OPEN_CHATS.min or 1), int(A.MAX_OPEN_CHATS.max or 0)
    if isinstance(value, bool) or not isinstance(value, int) or value not in A.MAX_OPEN_CHATS:
        problems.add("body.maxOpenChats", f"must be an integer from {low} to {high}, or null for no limit")
        return None
    return value


def _list(value: Any, path: str, problems: Problems) -> list[Any] | None:
    if not isinstance(value, list):
        problems.add(path, "must be an array")
        return None
    if len(value) not in A.MEMBERS:
        problems.add(path, f"must have at most {int(A.MEMBERS.max or 0)} items")
        return None
    return value


def _slugs(value: Any, path: str, problems: Problems) -> list[str] | None:
    items = _list(value, path, problems)
    if items is None:
        return None
    out = [text(v, f"{path}[{i}]", problems, A.DEPARTMENT_ID, pattern=A.DEPARTMENT_ID_PATTERN,
                pattern_reason=A.DEPARTMENT_ID_RULE) for i, v in enumerate(items)]
    return None if any(v is None for v in out) else sorted(set(out))  # type: ignore[arg-type]


def _uids(value: Any, path: str, problems: Problems) -> list[str] | None:
    items = _list(value, path, problems)
    if items is None:
        return None
    out: list[str] = []
    for i, v in enumerate(items):
        if not isinstance(v, str) or not A.is_uid(v):
            problems.add(f"{path}[{i}]", "must be an agent uid (a UUID)")
        else:
            out.append(v.lower())
    return sorted(set(out))


@dataclass
class SignInRequest:
    email: str
    password: str = field(repr=False)


def parse_sign_in(body: Any) -> SignInRequest:
    """`{"email", "password"}`: both strings (any content: a wrong one is a wrong sign-in, not a
    bad request), the password no longer than an agent's may be."""
    problems = Problems()
    if obj(body, "body", problems, ("email", "password")) is None:
        problems.raise_if_any("The sign-in is not valid")
    found: dict[str, str] = {}
    for name, most in (("email", A.EMAIL.max), ("password", A.PASSWORD.max)):
        value = body.get(name)
        if not isinstance(value, str) or not value or len(value) > int(most or 0):
            problems.add(f"body.{name}", f"is required: a string of at most {int(most or 0)} characters")
        else:
            found[name] = value
    problems.raise_if_any("The sign-in is not valid")
    return SignInRequest(found["email"], found["password"])
