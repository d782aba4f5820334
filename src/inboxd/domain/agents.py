"""Agents and departments: their fields' rules, in one place (docs/chats.md).

An agent is a person who works the inbox: `uid` (UUID), `email` (unique, case-insensitive),
`displayName`, optional `crmId` (unique), `roles`, departments, `active`, `presence`, optional
`maxOpenChats`. A department (`id`: a slug such as `customer_service`) groups agents and says how
its waiting chats find one: `manual` (its people pick them) or `round_robin`.
"""

from __future__ import annotations

import re
import uuid
from enum import StrEnum

from inboxd.domain.limits import Bounds
from inboxd.domain.scopes import ALL_SCOPES, Scope


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class Assignment(StrEnum):
    MANUAL = "manual"
    ROUND_ROBIN = "round_robin"


EMAIL = Bounds(3, 320, "inboxd")  # RFC 5321: 64 + @ + 255
DISPLAY_NAME = Bounds(1, 255, "inboxd")
CRM_ID = Bounds(1, 255, "inboxd")
PASSWORD = Bounds(8, 1024, "inboxd")  # long enough to mean something; short enough to hash quickly
MAX_OPEN_CHATS = Bounds(1, 100_000, "inboxd")
DEPARTMENT_ID = Bounds(1, 64, "inboxd")
DEPARTMENT_NAME = Bounds(1, 100, "inboxd")
MEMBERS = Bounds(0, 1000, "inboxd")

# A department id is a slug: lowercase letters and digits, words joined by `_` or `-`.
DEPARTMENT_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
DEPARTMENT_ID_RULE = "must be a slug: lowercase letters and digits, words joined by _ or - (e.g. customer_service)"

# Deliberately loose (one @, something on both sides, no spaces): the address's owner, not a
# regular expression, knows whether it works.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+$")
EMAIL_RULE = "must be an email address"


def email_key(email: str) -> str:
    """The form emails are compared in (unique, case-insensitive)."""
    return email.strip().lower()


def new_uid() -> str:
    return str(uuid.uuid4())


def is_uid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


# What a browser session of each role may do — the one place (docs/sign-in.md). The web inbox
# signs agents in and maps their roles to scopes, so every route keeps its one `require(...)`
# check: an admin everything; an agent the chats (list, view, take/assign/resolve), their
# messages and files, sending (session messages, templates: send and view), quick replies to
# read (labels are readable with any credential), and their own presence (`PUT auth/me/presence`)
# — not scenarios, channels, label/template/quick-reply management, agents or API tokens.
_AGENT_SCOPES = frozenset({
    Scope.LIST_ALL_CHATS, Scope.VIEW_ALL_CHATS, Scope.MANAGE_ALL_CHATS, Scope.SEND_SESSION_MESSAGE,
    Scope.SEND_TEMPLATE_MESSAGES, Scope.VIEW_TEMPLATE_MESSAGES, Scope.VIEW_ALL_FILES,
    Scope.VIEW_QUICK_REPLIES,
})


def scopes_for_roles(roles: list[str]) -> frozenset[Scope]:
    if Role.ADMIN in roles:
        return frozenset(ALL_SCOPES)
    if Role.AGENT in roles:
        return _AGENT_SCOPES
    return frozenset()
