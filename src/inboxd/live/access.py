"""Who is reading a live stream, and which events they may see.

Today a stream is opened with an API token holding `View all chats`, which sees every event.
This is the one place that turns the authenticated caller into a `Principal`: when sign-in
arrives, a session's agent becomes a principal here too, with `visible` set to the rule of
their role (e.g. an agent: their departments' chats and the unassigned ones, decided on the
`department_id` / `agent_uid` columns each event carries), and the hub and the replay apply it
to every event before it is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from inboxd.live.store import LiveEvent
from inboxd.store.tokens import TokenRecord


@dataclass(frozen=True)
class Principal:
    kind: str  # "token" or "agent"
    id: str
    # None: every event; otherwise called for each event before it is sent.
    visible: Callable[[LiveEvent], bool] | None = None


def principal_for(request: Request) -> Principal:
    """The principal of a request that passed the route's `require(...)` check."""
    agent = getattr(request.state, "agent", None)
    if agent is not None:
        return Principal("agent", str(agent["uid"]))
    token: TokenRecord = request.state.token
    return Principal("token", token.id)
