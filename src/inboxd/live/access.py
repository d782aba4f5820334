"""Who is reading a live stream, and which events they may see.

A stream is opened with an API token holding `View all chats`, which sees every event, or by a
signed-in agent. This is the one place that turns the authenticated caller into a `Principal`:
a session's agent becomes one with `visible` set to their view (`agents.visibility`: an agent
sees their own chats, their departments' and the shared queue's, decided on the
`department_id` / `agent_uid` columns each event carries; an admin everything), and the hub
and the replay apply it to every event before it is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from inboxd.api.caller import chat_view
from inboxd.live.store import LiveEvent
from inboxd.store.tokens import TokenRecord


@dataclass(frozen=True)
class Principal:
    kind: str  # "token" or "agent"
    id: str
    # None: every event; otherwise called for each event before it is sent.
    visible: Callable[[LiveEvent], bool] | None = None


def principal_for(request: Request) -> Principal:
    """The principal of a request that passed the route's `require(...)` check: a token or an
    admin sees every event; an agent those `agents.visibility` lets them see."""
    agent = getattr(request.state, "agent", None)
    if agent is not None:
        view = chat_view(request)
        return Principal("agent", str(agent["uid"]), view.sees_event if view is not None else None)
    token: TokenRecord = request.state.token
    return Principal("token", token.id)
