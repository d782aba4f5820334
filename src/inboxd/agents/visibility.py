"""Which chats a caller sees: the one rule, applied by Search Chats, the chat and message reads,
sending into a chat, and the live stream (docs/sign-in.md, "Visibility").

An API token and an admin see every chat. An agent (role `agent` without `admin`) sees a chat
when any of these holds:

- it is assigned to them;
- it is in one of their departments (whoever has it);
- it is in no department and assigned to no one (the shared queue).

The rule reads the chat's `department_id` and `agent_uid` — the columns the live log keeps
beside every chat and message event, so the stream filters on what the chat was at that event;
an event that moved the chat also keeps where it was (`before`), and goes to those who saw it
there too, so a chat taken by someone else leaves their list live.
An agent's departments are read with their session (the session cache's TTL, 0.5 s); a live
stream opened with one view ends when the agent's view changes (`api/routes/live.py`), and its
reconnection has the new one.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import sqlalchemy as sa

from inboxd.domain.agents import Role
from inboxd.live.store import LiveEvent
from inboxd.store.tables import chats


@dataclass(frozen=True)
class ChatView:
    """What one agent sees."""

    agent_uid: str
    departments: frozenset[str]

    def sees(self, department_id: str | None, agent_uid: str | None) -> bool:
        if agent_uid == self.agent_uid or (department_id is not None and department_id in self.departments):
            return True
        return agent_uid is None and department_id is None

    def sees_event(self, event: LiveEvent) -> bool:
        """A live event: those about a chat or its messages by the chat's rule; the others
        (agents' presence, quick replies, labels, channel problems) are for everyone."""
        if event.chat_id is None or self.sees(event.department_id, event.agent_uid):
            return True
        # A chat that moved out of their view: the event that shows it gone (taken by someone
        # else, moved to another department) reaches those who saw it where it was.
        return event.before is not None and self.sees(*orjson.loads(event.before))

    def condition(self) -> sa.ColumnElement[bool]:
        """The rule as a condition on `chats`."""
        either = [chats.c.agent_uid == self.agent_uid,
                  sa.and_(chats.c.agent_uid.is_(None), chats.c.department_id.is_(None))]
        if self.departments:
            either.append(chats.c.department_id.in_(sorted(self.departments)))
        return sa.or_(*either)


def view_for(roles: list[str], agent_uid: str, departments: frozenset[str]) -> ChatView | None:
    """An agent's view, or None (every chat) for an admin."""
    if Role.ADMIN in roles:
        return None
    return ChatView(agent_uid, departments)
