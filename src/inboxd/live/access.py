"""Who is reading a live stream, and which events they may see.

A stream is opened with an API token holding `View all chats`, which sees every event, or by a
signed-in agent. This is the one place that turns the authenticated caller into a `Principal`:
a session's agent becomes one with `view` set to their view (`agents.visibility`: an agent
sees their own chats, their departments' and the shared queue's, decided on the
`department_id` / `agent_uid` columns each event carries; an admin everything), and the hub
and the replay apply it to every event before it is sent (the hub once per distinct view).
A stream lasts while its caller's principal is the one it opened with (`api/routes/live.py`):
a role or department change ends it, and the client's reconnection gets the new view.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from inboxd.agents.sessions import AgentSession
from inboxd.agents.visibility import ChatView
from inboxd.store.tokens import TokenRecord


@dataclass(frozen=True)
class Principal:
    kind: str  # "token" or "agent"
    id: str
    # None: every event; otherwise its `sees_event` decides for each event before it is sent.
    view: ChatView | None = None


def principal_of(credential: TokenRecord | AgentSession) -> Principal:
    """A token sees every event; an agent what `agents.visibility` lets them see (an admin:
    every event)."""
    if isinstance(credential, AgentSession):
        return Principal("agent", credential.agent_uid, credential.view)
    return Principal("token", credential.id)


def principal_for(request: Request) -> Principal:
    """The principal of a request that passed the route's `require(...)` check."""
    return principal_of(request.state.credential)
