"""Who is reading a live stream, and which events they may see.

A stream is opened with an API token holding `View all chats`, which sees every event, or by a
signed-in agent. This is the one place that turns the authenticated caller into a `Principal`:
a session's agent becomes one with `view` set to their view (`agents.visibility`: an agent
sees their own chats, their departments' and the shared queue's, decided on the
`department_id` / `agent_uid` columns each event carries; an admin everything), and the hub
and the replay apply it to every event before it is sent (the hub once per distinct view).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from inboxd.agents.visibility import ChatView
from inboxd.api.caller import chat_view
from inboxd.store.tokens import TokenRecord


@dataclass(frozen=True)
class Principal:
    kind: str  # "token" or "agent"
    id: str
    # None: every event; otherwise its `sees_event` decides for each event before it is sent.
    view: ChatView | None = None


def principal_for(request: Request) -> Principal:
    """The principal of a request that passed the route's `require(...)` check: a token or an
    admin sees every event; an agent those `agents.visibility` lets them see."""
    agent = getattr(request.state, "agent", None)
    if agent is not None:
        return Principal("agent", str(agent["uid"]), chat_view(request))
    token: TokenRecord = request.state.token
    return Principal("token", token.id)
