"""The API token scopes: Texter's 19, named exactly as in the Texter UI (reference §1.2), and
inboxd's own (for what Texter manages in its UI only: agents and departments, API tokens).

A token holds a set of scopes; every endpoint declares the scopes it needs next to its route
(`api.deps.require`), and a token must hold all of them.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Scope(StrEnum):
    SEND_TEMPLATE_MESSAGES = "Send template messages"
    VIEW_TEMPLATE_MESSAGES = "View template messages"
    MANAGE_WHATSAPP_TEMPLATES = "Manage WhatsApp templates"
    MANAGE_ALL_CHATS = "Manage all chats"
    LIST_ALL_CHATS = "List all chats"
    VIEW_ALL_CHATS = "View all chats"
    SEND_SESSION_MESSAGE = "Send session message"
    MANAGE_LABELS = "Manage labels"
    MANAGE_CHANNELS = "Manage channels"
    VIEW_ALL_FILES = "View all files"
    VIEW_SCENARIOS = "View scenarios"
    CREATE_SCENARIOS = "Create scenarios"
    EDIT_SCENARIOS = "Edit scenarios"
    DELETE_SCENARIOS = "Delete scenarios"
    ACTIVATE_INACTIVATE_SCENARIOS = "Activate/inactivate scenarios"
    MANAGE_SCENARIOS_ON_BEHALF_OF_USER = "Manage scenarios on behalf of user"
    VIEW_SCENARIOS_RUNS = "View scenarios runs"
    VIEW_QUICK_REPLIES = "View quick replies"
    MANAGE_QUICK_REPLIES = "Manage quick replies"
    # inboxd's own
    MANAGE_AGENTS = "Manage agents"
    MANAGE_API_TOKENS = "Manage API tokens"

    @property
    def slug(self) -> str:
        return slugify(self.value)


ALL_SCOPES: tuple[Scope, ...] = tuple(Scope)
INBOXD_SCOPES: tuple[Scope, ...] = (Scope.MANAGE_AGENTS, Scope.MANAGE_API_TOKENS)
TEXTER_SCOPES: tuple[Scope, ...] = tuple(s for s in Scope if s not in INBOXD_SCOPES)


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


_BY_NAME = {s.value.lower(): s for s in Scope} | {s.slug: s for s in Scope}


def parse_scope(name: str) -> Scope:
    """A scope from its display name (any case) or its slug (`send-session-message`)."""
    scope = _BY_NAME.get(name.strip().lower()) or _BY_NAME.get(slugify(name))
    if scope is None:
        raise ValueError(f"unknown scope {name!r}")
    return scope


def missing_scopes(held: frozenset[str] | set[str], required: tuple[Scope, ...]) -> list[Scope]:
    return [s for s in required if s.value not in held]
