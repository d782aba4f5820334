"""The chat lifecycle: the one set of rules for a chat's status and who it is with (docs/chats.md).

Pure: each rule takes the chat's state and returns the `Target` it moves to (None: nothing
changes). `chats.lifecycle` applies a target — the only code that writes `chats.status` —
with its system message, domain events and round robin.

    new chat (contact) ──▶ PENDING ◀── assign / reopen / externalBot off / agent deactivated
                              │ take, an agent's reply
                              ▼
    any ──resolve──▶ RESOLVED ──contact writes──▶ PENDING (or BOT while externalBot)
    externalBot on ──▶ BOT;  a bulk template opens a chat in BULK, any other outbound in RESOLVED

Invariants the rest relies on: ASSIGNED always has an agent; a chat is *waiting* (round robin
may hand it out) exactly when it is PENDING without an agent; an agent's *open* chats are those
PENDING or ASSIGNED to them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Literal

from inboxd.domain.status import ChatStatus

OPEN = frozenset({ChatStatus.PENDING, ChatStatus.ASSIGNED})
# A new row's status until its opening transition, in the same transaction, sets the real one.
INITIAL_STATUS = ChatStatus.PENDING


class Reason(StrEnum):
    """Why a transition happened (the system message's `reason`)."""

    NEW_CHAT = "new_chat"  # the contact wrote first
    OPENED_BY_BUSINESS = "opened_by_business"  # a template send or an unsubscribe created the chat
    CONTACT_WROTE = "contact_wrote"  # a resolved (or bulk) chat's contact wrote again
    ASSIGN = "assign"
    TAKE = "take"
    AGENT_MESSAGE = "agent_message"  # an agent's session message took a chat pending for them
    RESOLVE = "resolve"
    EXTERNAL_BOT = "external_bot"
    TEMPLATE_REPLY = "template_reply"  # the reply action of a template the contact answered
    ROUND_ROBIN = "round_robin"  # a waiting chat handed out
    MOVED = "moved"  # a template send's setChat.departmentId
    AGENT_DEACTIVATED = "agent_deactivated"


@dataclass(frozen=True)
class Actor:
    """Who made a change: an agent, an API token, or inboxd itself."""

    kind: Literal["agent", "apiToken", "inboxd"]
    id: str | None = None
    name: str | None = None

    def as_json(self) -> dict[str, Any]:
        if self.kind == "agent":
            return {"type": "agent", "uid": self.id, "displayName": self.name or ""}
        if self.kind == "apiToken":
            return {"type": "apiToken", "id": self.id, "name": self.name or ""}
        return {"type": "inboxd"}


INBOXD = Actor("inboxd")


@dataclass(frozen=True)
class ChatState:
    status: int
    agent_uid: str | None
    department_id: str | None
    external_bot: bool

    @classmethod
    def of(cls, row: Any) -> ChatState:
        return cls(int(row["status"]), row["agent_uid"], row["department_id"], bool(row["external_bot"]))

    @property
    def waiting(self) -> bool:
        return self.status == ChatStatus.PENDING and self.agent_uid is None


@dataclass(frozen=True)
class Target:
    status: ChatStatus
    agent_uid: str | None
    department_id: str | None
    reason: Reason
    external_bot: bool | None = None  # the flag's new value, when this transition sets it

    def __post_init__(self) -> None:
        if self.status == ChatStatus.ASSIGNED and self.agent_uid is None:
            raise ValueError("an ASSIGNED chat has an agent")

    @property
    def waiting(self) -> bool:
        return self.status == ChatStatus.PENDING and self.agent_uid is None

    def with_agent(self, agent_uid: str) -> Target:
        return replace(self, agent_uid=agent_uid)


class Refused(Exception):
    """A transition the rules do not allow; `code` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def changes(current: ChatState | None, target: Target) -> bool:
    """Whether applying `target` changes anything (a repeat is not a transition)."""
    if current is None:
        return True
    if target.external_bot is not None and target.external_bot != current.external_bot:
        return True
    return (int(target.status), target.agent_uid, target.department_id) != (
        current.status, current.agent_uid, current.department_id
    )


def columns(current: ChatState | None, target: Target, now: int) -> dict[str, Any]:
    """What a transition writes on the chat row: status, agent, department, the time it became
    PENDING / RESOLVED (Texter's `*UpdateTime`, seconds), and since when it waits for an agent."""
    values: dict[str, Any] = {
        "status": int(target.status),
        "agent_uid": target.agent_uid,
        "department_id": target.department_id,
        "queued_at": now if target.waiting else None,
        "updated_at": now,
    }
    if target.status == ChatStatus.PENDING:
        values["pending_update_time"] = now // 1000
    elif target.status == ChatStatus.RESOLVED:
        values["resolved_update_time"] = now // 1000
    if target.external_bot is not None:
        values["external_bot"] = target.external_bot
    return values


def changed_fields(current: ChatState | None, target: Target) -> list[str]:
    """The Texter fields a transition changes (the `inboxd.chat.updated` notice's `fields`)."""
    fields = ["status", "updatedAt"]
    if target.status == ChatStatus.PENDING:
        fields.append("pendingUpdateTime")
    elif target.status == ChatStatus.RESOLVED:
        fields.append("resolvedUpdateTime")
    if current is None or target.agent_uid != current.agent_uid:
        fields.append("agent")
    if current is None or target.department_id != current.department_id:
        fields.append("departmentId")
    if target.external_bot is not None and (current is None or target.external_bot != current.external_bot):
        fields.append("externalBot")
    return fields


# --- the rules --------------------------------------------------------------------------------


def opened_by_contact(default_department: str | None) -> Target:
    """A chat the contact opens waits for a person, in its channel account's default department."""
    return Target(ChatStatus.PENDING, None, default_department, Reason.NEW_CHAT)


def opened_by_business(*, bulk: bool) -> Target:
    """A chat the business opens (a template send, an unsubscribe) needs nobody until the contact
    writes, so it starts RESOLVED (BULK for a bulk template); the contact's answer reopens it,
    or the template's reply action decides."""
    return Target(ChatStatus.BULK if bulk else ChatStatus.RESOLVED, None, None, Reason.OPENED_BY_BUSINESS)


def contact_wrote(
    current: ChatState, *, default_department: str | None, keep_agent: bool, department_exists: bool = True
) -> Target | None:
    """The contact wrote. A RESOLVED (or BULK) chat reopens: BOT while an external bot has it,
    else PENDING in the account's default department (the chat's own when the account has
    none and it still exists), with its last agent only when `keep_agent` (that agent is
    active, online and has room: users complain when a chat returns to an agent who is away).
    Other statuses stay."""
    if current.status not in (ChatStatus.RESOLVED, ChatStatus.BULK):
        return None
    department = default_department or (current.department_id if department_exists else None)
    if current.external_bot:
        return Target(ChatStatus.BOT, None, department, Reason.CONTACT_WROTE)
    agent = current.agent_uid if keep_agent else None
    return Target(ChatStatus.PENDING, agent, department, Reason.CONTACT_WROTE)


_KEEP: Any = object()


def assign(current: ChatState, *, agent_uid: str | None, department_id: Any = _KEEP) -> Target:
    """Assign Chat (§5.4): PENDING for that agent and/or department. A department alone leaves
    the chat to the department (no agent: round robin or its members pick it); an agent alone
    keeps the chat's department; `department_id=None` clears it."""
    department = current.department_id if department_id is _KEEP else department_id
    return Target(ChatStatus.PENDING, agent_uid, department, Reason.ASSIGN)


KEEP_DEPARTMENT = _KEEP


def take(current: ChatState, agent_uid: str) -> Target:
    """An agent takes the chat (ASSIGNED, "Taken"). Not a chat another agent has taken (Assign
    Chat reassigns it), nor one an external bot controls (turn `externalBot` off first)."""
    if current.external_bot:
        raise Refused("external_bot_active", "An external bot controls this chat; set externalBot to false first.")
    if current.status == ChatStatus.ASSIGNED and current.agent_uid not in (None, agent_uid):
        raise Refused("chat_taken", "Another agent has taken this chat; use Assign Chat to reassign it.")
    return Target(ChatStatus.ASSIGNED, agent_uid, current.department_id, Reason.TAKE)


def agent_replied(current: ChatState, agent_uid: str) -> Target | None:
    """An agent's session message takes a chat that is PENDING for them."""
    if current.status == ChatStatus.PENDING and current.agent_uid == agent_uid and not current.external_bot:
        return Target(ChatStatus.ASSIGNED, agent_uid, current.department_id, Reason.AGENT_MESSAGE)
    return None


def resolve(current: ChatState) -> Target | None:
    """Resolve Chat (§5.5), from any status. The agent stays on the chat (who resolved it:
    Chat Resolved by Agent / by Bot), and decides whether a reopened chat can return to them."""
    if current.status == ChatStatus.RESOLVED:
        return None
    return Target(ChatStatus.RESOLVED, current.agent_uid, current.department_id, Reason.RESOLVE)


def set_external_bot(current: ChatState, on: bool, *, default_department: str | None) -> Target | None:
    """`externalBot` true hands the chat to an external bot (BOT, no agent); false hands it back
    to people (PENDING in its department, or the account's default)."""
    if on == current.external_bot:
        return None
    if on:
        return Target(ChatStatus.BOT, None, current.department_id, Reason.EXTERNAL_BOT, external_bot=True)
    department = current.department_id or default_department
    return Target(ChatStatus.PENDING, None, department, Reason.EXTERNAL_BOT, external_bot=False)


def template_reply(
    current: ChatState, *, status: int | None, agent_uid: str | None, department_id: str | None
) -> Target | None:
    """A template's reply action when the contact answers: `chatStatus`, with `responsibleAgent`
    (already looked up: an active agent, or None) and `responsibleDepartment`. ASSIGNED needs an
    agent: without one (given, or already on the chat) the chat waits PENDING instead."""
    department = department_id or current.department_id
    if status is None:
        status = current.status
    chosen = ChatStatus(status)
    if chosen == ChatStatus.BULK:
        return None
    agent = agent_uid if agent_uid is not None else current.agent_uid
    if chosen == ChatStatus.ASSIGNED and agent is None:
        chosen = ChatStatus.PENDING
    if chosen == ChatStatus.BOT:
        agent = None
    if chosen == ChatStatus.PENDING and agent_uid is None and department_id and department_id != current.department_id:
        agent = None  # handed to another department: its people pick it
    target = Target(chosen, agent, department, Reason.TEMPLATE_REPLY)
    return target if changes(current, target) else None


def move(current: ChatState, department_id: str | None) -> Target | None:
    """Another department, nothing else (a template send's `setChat.departmentId`): a waiting
    chat waits there instead; one with an agent keeps them."""
    if department_id == current.department_id:
        return None
    return Target(ChatStatus(current.status), current.agent_uid, department_id, Reason.MOVED)


def hand_out(current: ChatState, agent_uid: str) -> Target:
    """Round robin gives a waiting chat to an agent: PENDING for them."""
    return Target(ChatStatus.PENDING, agent_uid, current.department_id, Reason.ROUND_ROBIN)


def requeue(current: ChatState) -> Target:
    """The chat's agent was deactivated: it waits in its department again."""
    return Target(ChatStatus.PENDING, None, current.department_id, Reason.AGENT_DEACTIVATED)


def status_event_due(current: ChatState | None, target: Target) -> bool:
    """Whether the transition raises its status's event (Chat Pending / Assigned / Resolved):
    when the status changes, a PENDING chat is pending for another agent or department (Assign
    Chat again), an ASSIGNED one has another agent. A chat only moved to another department is
    not assigned or resolved again, nor is a chat the business opened (it starts RESOLVED,
    nobody resolved it)."""
    if current is None:
        return target.status in OPEN
    if current.status != target.status:
        return True
    if target.status == ChatStatus.PENDING:
        return (target.agent_uid, target.department_id) != (current.agent_uid, current.department_id)
    return target.status == ChatStatus.ASSIGNED and target.agent_uid != current.agent_uid


def frees(current: ChatState | None, target: Target) -> str | None:
    """The agent who loses an open chat in this transition (their capacity grows), if any."""
    if current is None or current.agent_uid is None or current.status not in OPEN:
        return None
    if target.status in OPEN and target.agent_uid == current.agent_uid:
        return None
    return current.agent_uid


def gives(current: ChatState | None, target: Target) -> str | None:
    """The agent who gets an open chat in this transition, if any."""
    if target.agent_uid is None or target.status not in OPEN:
        return None
    if current is not None and current.status in OPEN and current.agent_uid == target.agent_uid:
        return None
    return target.agent_uid
