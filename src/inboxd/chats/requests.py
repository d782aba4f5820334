"""The bodies of the chat lifecycle's endpoints (§5.4–§5.7 and inboxd's take) → what they ask
for, every problem reported with its JSON path."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from inboxd.domain import agents as A
from inboxd.domain.errors import Problems
from inboxd.domain.lifecycle import KEEP_DEPARTMENT
from inboxd.domain.limits import Bounds
from inboxd.templates import limits as template_limits
from inboxd.templates.phones import PhoneProblem, normalize_phone
from inboxd.templates.validation import boolean, choice, obj, text

CHANNELS = ("whatsapp", "messenger", "instagram", "website_chat", "email", "sms")  # reference §2.3
DISPLAY_NAME = Bounds(1, 255, "texter")  # Update Chat Properties: displayName ≤ 255
CRM_DEEP_LINK = Bounds(1, 2048, "inboxd")
ACCOUNT_ID = Bounds(1, 64, "inboxd")
AGENT_REF = Bounds(1, 320, "inboxd")
# An agent opens the link from the inbox: only web links, never `javascript:` and the like.
WEB_LINK = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)

AGENT_FIELDS = {"agentUid": "uid", "agentEmail": "email", "agentCrmId": "crm_id"}


@dataclass
class AssignRequest:
    chat_id: str | None = None
    phone: str | None = None
    channel: tuple[str, str] | None = None  # (name, accountId)
    agent: tuple[str, str] | None = None  # (body field, value)
    department: Any = KEEP_DEPARTMENT  # a department id, None (clears), or KEEP_DEPARTMENT


def parse_assign(body: Any, *, default_country_code: str | None) -> AssignRequest:
    problems = Problems()
    out = AssignRequest()
    allowed = ("chatId", "phone", "channel", *AGENT_FIELDS, "departmentId")
    if obj(body, "body", problems, allowed) is None:
        problems.raise_if_any("The assignment is not valid")
    has_chat, has_phone = "chatId" in body, "phone" in body
    if has_chat and has_phone:
        for path in ("body.chatId", "body.phone"):
            problems.add(path, "give chatId or phone, not both")
    elif not has_chat and not has_phone:
        problems.add("body.chatId", "the chat is required: chatId, or phone")
    if has_chat:
        out.chat_id = text(body["chatId"], "body.chatId", problems, Bounds(1, 64, "inboxd"))
    if has_phone:
        raw = text(body["phone"], "body.phone", problems, template_limits.TO)
        if raw is not None:
            try:
                out.phone = normalize_phone(raw, default_country_code=default_country_code)
            except PhoneProblem as exc:
                problems.add("body.phone", str(exc))
    if "channel" in body:
        if not has_phone:
            problems.add("body.channel", "only chooses among the chats of a phone; give it with phone")
        elif obj(body["channel"], "body.channel", problems, ("name", "accountId")) is not None:
            name = choice(body["channel"].get("name"), "body.channel.name", problems, CHANNELS)
            account = text(body["channel"].get("accountId"), "body.channel.accountId", problems, ACCOUNT_ID)
            if name is not None and account is not None:
                out.channel = (name, account.lstrip("+"))
    agents = [key for key in AGENT_FIELDS if key in body]
    if len(agents) > 1:
        for key in agents:
            problems.add(f"body.{key}", "give one agent identifier: agentUid, agentEmail or agentCrmId")
    elif agents:
        value = text(body[agents[0]], f"body.{agents[0]}", problems, AGENT_REF)
        if value is not None:
            out.agent = (agents[0], value)
    if "departmentId" in body:
        value = body["departmentId"]
        out.department = None if value is None else text(value, "body.departmentId", problems, A.DEPARTMENT_ID)
    if not agents and "departmentId" not in body:
        problems.add("body.agentUid", "the assignee is required: agentUid, agentEmail or agentCrmId, and/or "
                                      "departmentId (null clears it)")
    problems.raise_if_any("The assignment is not valid")
    return out


def parse_take(body: Any) -> str | None:
    """`{agentUid?}`: the agent an API token takes the chat for (an agent's session: itself)."""
    problems = Problems()
    uid = None
    if obj(body, "body", problems, ("agentUid",)) is not None and "agentUid" in body:
        uid = text(body["agentUid"], "body.agentUid", problems, AGENT_REF)
    problems.raise_if_any("The request is not valid")
    return uid


def parse_resolve(body: Any) -> bool:
    """`{notifyClient?: bool}` (default false); no body at all is allowed (the POC sends none)."""
    problems = Problems()
    notify = False
    if obj(body, "body", problems, ("notifyClient",)) is not None and "notifyClient" in body:
        notify = bool(boolean(body["notifyClient"], "body.notifyClient", problems))
    problems.raise_if_any("The request is not valid")
    return notify


@dataclass
class ChatPatch:
    """Update Chat Properties: the properties to set ({Texter field: value}) and `externalBot`."""

    properties: dict[str, Any] = field(default_factory=dict)
    external_bot: bool | None = None


def parse_patch(body: Any) -> ChatPatch:
    problems = Problems()
    out = ChatPatch()
    if obj(body, "body", problems, ("displayName", "title", "externalBot", "crmData", "crmDeepLink")) is None:
        problems.raise_if_any("The chat properties are not valid")
    if "displayName" in body and "title" in body:
        problems.add("body.title", "is the deprecated name of displayName: give one of them")
    for key in ("displayName", "title"):  # `title`: deprecated, "use displayName instead"
        if key in body:
            value = body[key]
            out.properties["displayName"] = None if value is None else text(value, f"body.{key}", problems, DISPLAY_NAME)
    if "externalBot" in body:
        out.external_bot = boolean(body["externalBot"], "body.externalBot", problems)
    if "crmData" in body:
        value = body["crmData"]
        if value is not None and not isinstance(value, dict):
            problems.add("body.crmData", "must be an object (it replaces the chat's crmData), or null to empty it")
        else:
            out.properties["crmData"] = value
    if "crmDeepLink" in body:
        out.properties["crmDeepLink"] = crm_deep_link(body["crmDeepLink"], "body.crmDeepLink", problems)
    problems.raise_if_any("The chat properties are not valid")
    return out


def crm_deep_link(value: Any, path: str, problems: Problems) -> str | None:
    if value is None:
        return None
    return text(value, path, problems, CRM_DEEP_LINK, pattern=WEB_LINK, pattern_reason="must be an http(s) URL")


def parse_crm_data(body: Any) -> dict[str, Any]:
    problems = Problems()
    data: dict[str, Any] = {}
    if obj(body, "body", problems, ("data",)) is not None:
        if not isinstance(body.get("data"), dict):
            problems.add("body.data", "is required: an object merged into the chat's crmData")
        else:
            data = body["data"]
    problems.raise_if_any("The CRM data is not valid")
    return data
