"""Who is calling: an API token (`request.state.token`), or an agent signed in to the web inbox
(a session cookie: `request.state.agent` is the agent's row), as `api.deps.require` found it.
The chat lifecycle records the caller on every transition, and an agent's own actions (take, a
session message) apply to them."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from inboxd.agents.sessions import AgentSession
from inboxd.agents.visibility import ChatView
from inboxd.domain.lifecycle import Actor


def calling_agent(request: Request) -> Any:
    """The signed-in agent's row, or None for an API token."""
    return getattr(request.state, "agent", None)


def actor_of(request: Request) -> Actor:
    agent = calling_agent(request)
    if agent is not None:
        return Actor("agent", agent["uid"], agent["display_name"])
    token = request.state.token
    return Actor("apiToken", token.id, token.name)


def chat_view(request: Request) -> ChatView | None:
    """The chats the caller sees (`agents.visibility`): None for a token or an admin (every chat)."""
    credential = getattr(request.state, "credential", None)
    return credential.view if isinstance(credential, AgentSession) else None
