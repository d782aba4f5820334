"""What the chat lifecycle's endpoints do (§5.4–§5.7, and inboxd's take), each in one
transaction: the chat's row locked, every reference looked up, the change applied through
`chats.lifecycle` / `chats.properties`, nothing written when anything is wrong."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.chats.lifecycle import Lifecycle
from inboxd.chats.properties import check_crm_data_size, merge_crm_data, set_properties
from inboxd.chats.requests import AGENT_FIELDS, AssignRequest, ChatPatch
from inboxd.delivery.accept import OutgoingItem, stage_outgoing
from inboxd.delivery.session import window_closed
from inboxd.domain import lifecycle as L
from inboxd.domain.agents import email_key, is_uid
from inboxd.domain.clock import now_ms
from inboxd.domain.errors import ApiError, Conflict, InvalidRequest, NotFound, chat_not_found, problem
from inboxd.domain.ids import is_id, new_id
from inboxd.domain.lifecycle import Actor, ChatState
from inboxd.domain.window import session_window_open
from inboxd.services import Services
from inboxd.store import accounts as accounts_store
from inboxd.store import agents as agents_store
from inboxd.store import chats as chats_store


def refusal(exc: L.Refused, path: str | None = None) -> ApiError:
    """The API error for a transition the rules refuse."""
    details = [problem(path, exc.message)] if path else []
    if exc.code == "agent_inactive":
        return InvalidRequest(exc.message, code=exc.code, details=details)
    return Conflict(exc.message, code=exc.code, details=details)


class ChatActions:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.lifecycle = Lifecycle(services.events)

    async def _locked(self, conn: AsyncConnection, chat_id: str) -> Any:
        chat = await chats_store.lock_chat(conn, chat_id) if is_id(chat_id) else None
        if chat is None:
            raise chat_not_found(chat_id)
        return chat

    # --- Assign Chat (§5.4) ------------------------------------------------------------------

    async def assign(self, req: AssignRequest, actor: Actor) -> None:
        now = now_ms()
        async with self.services.db.write() as conn:
            missing: list[dict[str, Any]] = []
            refused: list[dict[str, Any]] = []
            chat_id = await self._find_chat(conn, req, missing)
            agent = await _find_agent(conn, req.agent, missing, refused) if req.agent else None
            if isinstance(req.department, str) and await agents_store.get_department(conn, req.department) is None:
                missing.append(problem("body.departmentId", f"no department with id {req.department!r}"))
            if missing:
                codes = {"body.chatId": "chat_not_found", "body.phone": "chat_not_found",
                         "body.departmentId": "department_not_found"}
                code = {codes.get(p["path"], "agent_not_found") for p in missing}
                raise NotFound("Not found: " + "; ".join(f"{p['path']}: {p['reason']}" for p in missing) + ".",
                               code=code.pop() if len(code) == 1 else "not_found", details=missing + refused)
            if refused:
                raise InvalidRequest(f"{refused[0]['path']}: {refused[0]['reason']}.", code="agent_inactive",
                                     details=refused)
            assert chat_id is not None
            chat = await self._locked(conn, chat_id)
            target = L.assign(ChatState.of(chat), agent_uid=agent["uid"] if agent else None, department_id=req.department)
            try:
                await self.lifecycle.apply(conn, chat, target, actor, now)
            except L.Refused as exc:
                raise refusal(exc, f"body.{req.agent[0]}" if req.agent else None) from None

    async def _find_chat(self, conn: AsyncConnection, req: AssignRequest, missing: list[dict[str, Any]]) -> str | None:
        if req.chat_id is not None:
            chat = await chats_store.get_chat(conn, req.chat_id) if is_id(req.chat_id) else None
            if chat is None:
                missing.append(problem("body.chatId", f"no chat with id {req.chat_id!r}"))
                return None
            return chat["id"]
        assert req.phone is not None
        found = await _chats_of_phone(conn, req.phone, req.channel)
        if not found:
            where = f" on {req.channel[0]} account {req.channel[1]}" if req.channel else ""
            missing.append(problem("body.phone", f"no chat with +{req.phone}{where}"))
            return None
        if len(found) > 1:
            listed = [{"chatId": c["id"], "channel": {"name": c["channel"], "accountId": c["account_phone"]}} for c in found]
            raise Conflict(
                f"The phone +{req.phone} has {len(found)} chats; choose one with channel {{name, accountId}} or chatId.",
                code="ambiguous_chat",
                details=[problem("body.channel", f"chat {c['chatId']} is on {c['channel']['name']} account "
                                                 f"{c['channel']['accountId']}") for c in listed],
                extra={"chats": listed},
            )
        return found[0]["id"]

    # --- take (inboxd) ----------------------------------------------------------------------------

    async def take(self, chat_id: str, agent_uid: str, actor: Actor, *, path: str = "body.agentUid") -> None:
        now = now_ms()
        async with self.services.db.write() as conn:
            chat = await self._locked(conn, chat_id)
            missing: list[dict[str, Any]] = []
            refused: list[dict[str, Any]] = []
            agent = await _find_agent(conn, ("agentUid", agent_uid), missing, refused, path=path)
            if agent is None:
                error = (missing or refused)[0]
                cls = NotFound if missing else InvalidRequest
                raise cls(f"{error['path']}: {error['reason']}.", code="agent_not_found" if missing else "agent_inactive",
                          details=[error])
            try:
                await self.lifecycle.apply(conn, chat, L.take(ChatState.of(chat), agent["uid"]), actor, now)
            except L.Refused as exc:
                raise refusal(exc, path if exc.code == "agent_inactive" else None) from None

    # --- Resolve Chat (§5.5) -----------------------------------------------------------------

    async def resolve(self, chat_id: str, *, notify: bool, actor: Actor) -> dict[str, Any] | None:
        """Resolve the chat; with `notify`, the channel account's resolution message goes first,
        staged through the ordinary outbox in the same transaction. Returns what became of the
        notification (None when not asked for)."""
        now = now_ms()
        async with self.services.db.write() as conn:
            chat = await self._locked(conn, chat_id)
            target = L.resolve(ChatState.of(chat))
            notification = await self._notify(conn, chat, target, now) if notify else None
            await self.lifecycle.apply(conn, chat, target, actor, now)
        if notification is not None and notification["sent"]:
            self.services.wake_delivery()
        return notification

    async def _notify(self, conn: AsyncConnection, chat: Any, target: L.Target | None, now: int) -> dict[str, Any]:
        if target is None:
            return {"sent": False, "code": "already_resolved", "reason": "The chat was already resolved."}
        _, text = await accounts_store.lifecycle_settings(conn, chat["channel_account_id"])
        if not text:
            return {"sent": False, "code": "no_resolution_message",
                    "reason": "The channel account has no resolution message (inboxd channels update "
                              "--resolution-message)."}
        if not session_window_open(chat["last_incoming_at"], now):
            closed = window_closed(chat["last_incoming_at"])
            return {"sent": False, "code": closed.code, "reason": closed.message, **closed.extra}
        rows = await stage_outgoing(
            conn, chat["id"], chat["channel_account_id"], [OutgoingItem("text", {"text": text})], ids=[new_id()],
            now=now, events=self.services.events,
        )
        return {"sent": True, "messageId": rows[0]["id"]}

    # --- Update Chat Properties (§5.6), Update CRM Data (§5.7) --------------------------------

    async def patch(self, chat_id: str, patch: ChatPatch, actor: Actor) -> None:
        if "crmData" in patch.properties:
            check_crm_data_size(patch.properties["crmData"])
        now = now_ms()
        async with self.services.db.write() as conn:
            chat = await self._locked(conn, chat_id)
            await set_properties(conn, chat["id"], patch.properties, self.services.events, now)
            if patch.external_bot is not None:
                default_department, _ = await accounts_store.lifecycle_settings(conn, chat["channel_account_id"])
                target = L.set_external_bot(ChatState.of(chat), patch.external_bot, default_department=default_department)
                await self.lifecycle.apply(conn, chat, target, actor, now)

    async def merge_crm_data(self, chat_id: str, data: dict[str, Any]) -> None:
        now = now_ms()
        async with self.services.db.write() as conn:
            chat = await self._locked(conn, chat_id)
            merged = merge_crm_data(chat["crm_data"], data)
            check_crm_data_size(merged)
            await set_properties(conn, chat["id"], {"crmData": merged}, self.services.events, now)


async def _find_agent(
    conn: AsyncConnection, ref: tuple[str, str], missing: list[dict[str, Any]], refused: list[dict[str, Any]],
    *, path: str | None = None,
) -> Any:
    """The active agent a body names by `agentUid`, `agentEmail` or `agentCrmId` (None: the
    problem is added to `missing` / `refused`)."""
    key, value = ref
    path = path or f"body.{key}"
    column = AGENT_FIELDS[key]
    if column == "uid":
        agent = await agents_store.get_agent(conn, value.lower()) if is_uid(value) else None
    elif column == "email":
        agent = await agents_store.find_agent(conn, email_key=email_key(value))
    else:
        agent = await agents_store.find_agent(conn, crm_id=value)
    if agent is None:
        missing.append(problem(path, f"no agent has the {key} {value!r}"))
        return None
    if not agent["active"]:
        refused.append(problem(path, f"the agent {agent['email']} is not active"))
        return None
    return agent


async def _chats_of_phone(conn: AsyncConnection, phone: str, channel: tuple[str, str] | None) -> list[sa.RowMapping]:
    """The chats of this contact on the channel accounts `channel` allows (each found through the
    (account, contact) key, so the lookup stays indexed)."""
    found = []
    for account in await accounts_store.list_accounts(conn, channel[0] if channel else None):
        if channel is not None and account.account_id != channel[1]:
            continue
        chat = await chats_store.find_chat(conn, account.id, phone)
        if chat is not None:
            found.append(chat)
    return found
