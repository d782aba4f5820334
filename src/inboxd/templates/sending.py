"""Send Template Message (Texter §7.3): how a business starts a conversation.

In order:
1. the channel account (`from`, else the oldest WhatsApp account having a template of that
   name) and the template (404 when missing);
2. the localization: `language`, or the only APPROVED one; not approved → 422
   `template_not_approved`; several approved and no `language` → 400 `language_required`;
3. the values: the send's `body` / `header` / `buttons`, else the localization's defaults; they
   must fit the template (400, e.g. the wrong number of body values);
4. the chat (found by account and contact): a repeated idempotency key answers the first
   request's result; an unsubscribed contact → `success: false`, nothing stored or sent;
5. `sessionMessage` and an open 24-hour window → sent as that session message instead;
6. a media header is fetched and stored like Send a Message media;
7. the chat is created when the contact has none (BULK for a `bulk` template, else RESOLVED:
   nobody needs to act until the contact answers; docs/chats.md), and the message is accepted through `accept_outgoing`: the same outbox,
   per-chat order and idempotency as session messages. In the same transaction the chat gets
   the reply action and the `setChat` properties.

The message is stored as type `special`: `text` = the rendered body, `special` = `{"type":
"template", "template": {name, language: {code}, components}}` (Meta's template object, media
by inboxd `fileId`; see `channels.whatsapp.outbound`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.chats.lifecycle import Lifecycle
from inboxd.chats.properties import check_crm_data_size, merge_crm_data, set_properties
from inboxd.delivery.accept import Accepted, Idempotency, OnAccept, OutgoingItem, accept_outgoing, find_replay
from inboxd.delivery.session import send_session_message
from inboxd.domain import lifecycle
from inboxd.domain.content import parse_send_request
from inboxd.domain.errors import InvalidRequest, NotFound, Problems, RuleRefused, problem
from inboxd.domain.ids import new_id
from inboxd.domain.window import session_window_open
from inboxd.domain_events import CHAT_UPDATED, DomainEvents
from inboxd.store import accounts as accounts_store
from inboxd.store import chats as chats_store
from inboxd.store import messages as messages_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.tables import chats
from inboxd.templates import components as C
from inboxd.templates import limits as L
from inboxd.templates import store
from inboxd.templates.media import resolve_header
from inboxd.templates.requests import check_values_fit
from inboxd.templates.send_request import TemplateSendRequest

if TYPE_CHECKING:
    from inboxd.services import Services

# Template attributes that make up the default reply action (column → replyAction key).
_REPLY_ATTRIBUTES = {
    "set_bot_node": "setBotNode",
    "bot": "bot",
    "reply_text": "replyText",
    "responsible_agent": "responsibleAgent",
    "responsible_department": "responsibleDepartment",
}


@dataclass(frozen=True)
class Outcome:
    chat_id: str | None
    message_ids: list[str]
    text: str
    session: bool = False
    replay: bool = False
    unsubscribed_at: int | None = None  # set: refused, nothing sent


@dataclass(frozen=True)
class _Prepared:
    account: ChannelAccount
    template: Any
    language: str
    text: str
    content: dict[str, Any]


async def send_template(
    services: Services, req: TemplateSendRequest, *, idempotency_key: str | None, now: int, message_ids: list[str]
) -> Outcome:
    async with services.db.read() as conn:
        account, template = await _account_and_template(conn, req)
        locs = (await store.localizations(conn, [template["id"]]))[template["id"]]
        chat = await chats_store.find_chat(conn, account.id, req.to)
    loc = _pick_localization(template, locs, req.language)
    language = loc["language"]
    values = _values(template, language, req)
    components = list(loc["components"])
    _check_fit(components, values)
    text = _rendered_body(components, values)

    idem = Idempotency(idempotency_key, req.request_hash()) if idempotency_key else None
    if chat is not None:
        replay = await find_replay(services.db, chat["id"], idem, now)
        if replay is not None:
            return await _replayed(services, chat["id"], replay)
        if chat["unsubscribed_at"] is not None:
            return Outcome(chat["id"], [], text, unsubscribed_at=chat["unsubscribed_at"])

    wants_session = req.session_message is not None or req.session_message_rendered
    if wants_session and chat is not None and session_window_open(chat["last_incoming_at"], now):
        session = req.session_message or parse_send_request({"type": "text", "text": text})
        accepted = await send_session_message(
            services, chat, session, idempotency_key=idempotency_key, now=now, message_ids=message_ids,
            request_hash=req.request_hash(), on_accept=_chat_changes(template, req, now, services.events),
        )
        return Outcome(chat["id"], accepted.message_ids, str(session.content.get("text") or ""), session=True,
                       replay=accepted.replay)

    if C.header_format(components) == "LOCATION":
        raise RuleRefused("inboxd cannot send templates with a LOCATION header yet.", code="template_not_sendable")
    header = values.get("header")
    if header is not None and "text" not in header:
        header = await resolve_header(services, header, C.header_format(components) or "", "body.header")
    content = {
        "text": text,
        "special": {
            "type": "template",
            "template": {
                "name": template["provider_name"],
                "language": {"code": language},
                "components": _cloud_components(components, values, header),
            },
        },
    }
    chat_id = chat["id"] if chat is not None else await _create_chat(services, account, req.to, template, now)
    accepted = await accept_outgoing(
        services.db, chat_id, account.id, [OutgoingItem("special", content)], now=now, idempotency=idem,
        tmp_send_id=req.tmp_send_id, events=services.events, message_ids=message_ids[:1],
        on_accept=_chat_changes(template, req, now, services.events),
    )
    if accepted.replay:
        return await _replayed(services, chat_id, accepted)
    return Outcome(chat_id, accepted.message_ids, text)


# ----------------------------------------------------------------------------- steps


async def _account_and_template(conn: AsyncConnection, req: TemplateSendRequest) -> tuple[ChannelAccount, Any]:
    if req.from_ is not None:
        account = await accounts_store.find_by_account_id(conn, "whatsapp", req.from_)
        if account is None:
            raise NotFound(f"No WhatsApp channel account with the number {req.from_}.", code="account_not_found",
                           details=[problem("body.from", "no channel account has this number")])
    else:
        having = await store.accounts_having(conn, req.template_name)
        account = await accounts_store.get_account(conn, having[0]) if having else None
    template = await store.get_template(conn, account.id, req.template_name) if account else None
    if account is None or template is None:
        where = f" on account {account.account_id}" if account else ""
        raise NotFound(f"No template named {req.template_name!r}{where}.", code="template_not_found",
                       details=[problem("body.templateName", "no such template")])
    return account, template


def _pick_localization(template: Any, locs: list[Any], language: str | None) -> Any:
    name = template["name"]
    if language is not None:
        loc = next((x for x in locs if x["language"] == language), None)
        if loc is None:
            drafted = language in (template["drafts"] or {})
            raise RuleRefused(
                f"Template {name!r} has no {language} localization "
                + ("approved yet: it is a draft, submit it for approval first." if drafted else "submitted for approval."),
                code="template_not_approved",
                extra={"language": language, "status": "DRAFT" if drafted else None},
            )
        if loc["status"] != store.APPROVED:
            raise RuleRefused(
                f"Template {name!r} ({language}) is {loc['status']}, not APPROVED: WhatsApp sends approved "
                "templates only.",
                code="template_not_approved",
                extra={"language": language, "status": loc["status"]},
            )
        return loc
    approved = [x for x in locs if x["status"] == store.APPROVED]
    if len(approved) == 1:
        return approved[0]
    if not approved:
        statuses = {x["language"]: x["status"] for x in locs}
        raise RuleRefused(
            f"Template {name!r} has no APPROVED localization yet"
            + (f" ({', '.join(f'{k}: {v}' for k, v in statuses.items())})." if statuses else "; submit it for approval first."),
            code="template_not_approved",
            extra={"statuses": statuses},
        )
    languages = sorted(x["language"] for x in approved)
    reason = f"the template is approved in several languages ({', '.join(languages)}): choose one"
    raise InvalidRequest(f"body.language: {reason}.", code="language_required",
                         details=[problem("body.language", reason)])


def _values(template: Any, language: str, req: TemplateSendRequest) -> dict[str, Any]:
    """The send's values over the localization's defaults (buttons merge by index)."""
    defaults = (template["defaults"] or {}).get(language) or {}
    values = {key: defaults[key] for key in ("body", "header") if key in defaults}
    values.update({key: req.values[key] for key in ("body", "header") if key in req.values})
    buttons = {b["index"]: b for b in defaults.get("buttons") or []}
    buttons.update({b["index"]: b for b in req.values.get("buttons") or []})
    if buttons:
        values["buttons"] = [buttons[i] for i in sorted(buttons)]
    return values


def _check_fit(components: list[dict[str, Any]], values: dict[str, Any]) -> None:
    problems = Problems()
    check_values_fit(components, values, "body", problems, require_all=True)
    header = C.component(components, "HEADER")
    if not problems and header is not None and C.header_variables(components):
        rendered = C.render(header["text"], [values["header"]["text"]])
        if len(rendered) not in L.RENDERED_HEADER:
            problems.add("body.header.text", f"the rendered header would be {len(rendered)} characters; WhatsApp "
                         f"allows {int(L.RENDERED_HEADER.max or 0)}")
    if not problems:
        body = C.component(components, "BODY")
        rendered = C.render(body["text"], values.get("body") or []) if body else ""
        if len(rendered) not in L.RENDERED_BODY:
            problems.add("body.body", f"the rendered body would be {len(rendered)} characters; WhatsApp allows "
                         f"{int(L.RENDERED_BODY.max or 0)}")
    problems.raise_if_any("The template send does not fit the template")


def _rendered_body(components: list[dict[str, Any]], values: dict[str, Any]) -> str:
    body = C.component(components, "BODY")
    return C.render(str(body.get("text") or ""), values.get("body") or []) if body else ""


def _cloud_components(
    components: list[dict[str, Any]], values: dict[str, Any], header: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The Cloud API `template.components` of the send (only those that carry parameters)."""
    out: list[dict[str, Any]] = []
    fmt = C.header_format(components)
    if header is not None and "text" in header:
        out.append({"type": "header", "parameters": [{"type": "text", "text": header["text"]}]})
    elif header is not None and fmt in C.MEDIA_FORMATS:
        kind = fmt.lower()
        media = {k: header[k] for k in ("fileId", "filename", "contentType") if header.get(k)}
        out.append({"type": "header", "parameters": [{"type": kind, kind: media}]})
    if values.get("body"):
        out.append({"type": "body", "parameters": [{"type": "text", "text": v} for v in values["body"]]})
    for value in values.get("buttons") or []:
        index = str(value["index"])
        if "text" in value:
            parameter = {"type": "text", "text": value["text"]}
            out.append({"type": "button", "sub_type": "url", "index": index, "parameters": [parameter]})
        else:
            parameter = {"type": "payload", "payload": value["payload"]}
            out.append({"type": "button", "sub_type": "quick_reply", "index": index, "parameters": [parameter]})
    return out


async def _create_chat(services: Services, account: ChannelAccount, contact_id: str, template: Any, now: int) -> str:
    """The contact's chat, created for this first message (a concurrent creation wins the race
    harmlessly: the unique key gives both the same chat) and opened by the business: RESOLVED,
    or BULK for a bulk template, until the contact answers (`domain.lifecycle.opened_by_business`)."""
    async with services.db.write() as conn:
        opened: set[str] = set()
        chat_id = await chats_store.ensure_chat(
            conn, chat_id=new_id(), channel_account_id=account.id, contact_id=contact_id, title=None, now=now,
            created=opened,
        )
        target = lifecycle.opened_by_business(bulk=template["usage"] == "bulk")
        await Lifecycle(services.events).open(conn, opened, target, lifecycle.INBOXD, now)
    return chat_id


def reply_action(template: Any, override: dict[str, Any] | None, now: int, message_id: str) -> dict[str, Any]:
    """The chat's `replyAction` after this send: the template's behaviour, then the send's."""
    action: dict[str, Any] = {"chatStatus": template["chat_status"]}
    action.update({key: template[col] for col, key in _REPLY_ATTRIBUTES.items() if template[col] is not None})
    if override:
        if "responsibleAgent" in override:
            action.pop("responsibleDepartment", None)
        if "responsibleDepartment" in override:
            action.pop("responsibleAgent", None)
        action.update(override)
    return {
        "created": now // 1000,
        "expirationTime": action.pop("expirationTime", L.REPLY_EXPIRATION_DEFAULT),
        **action,
        "templateName": template["name"],
        "messageId": message_id,
    }


def _chat_changes(template: Any, req: TemplateSendRequest, now: int, events: DomainEvents) -> OnAccept:
    """`on_accept`: the reply action and `setChat`, in the transaction that stores the message.
    `externalBot` and `departmentId` go through the chat lifecycle; `crmData` merges like Update
    CRM Data (`chats.properties.merge_crm_data`)."""

    async def apply(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        chat_id = rows[0]["chat_id"]
        action = reply_action(template, req.reply_action, now, rows[0]["id"])
        await conn.execute(chats.update().where(chats.c.id == chat_id).values(reply_action=action, updated_at=now))
        await events.publish(conn, CHAT_UPDATED, chat_id=chat_id, fields=["replyAction", "updatedAt"])
        changes = req.set_chat or {}
        chat = await chats_store.lock_chat(conn, chat_id)
        assert chat is not None
        props = {key: changes[key] for key in ("displayName", "crmDeepLink") if key in changes}
        if "crmData" in changes:
            props["crmData"] = merge_crm_data(chat["crm_data"], changes["crmData"])
            check_crm_data_size(props["crmData"])
        await set_properties(conn, chat_id, props, events, now)
        flow = Lifecycle(events)
        if "externalBot" in changes:
            default_department, _ = await accounts_store.lifecycle_settings(conn, chat["channel_account_id"])
            target = lifecycle.set_external_bot(
                lifecycle.ChatState.of(chat), changes["externalBot"], default_department=default_department
            )
            if await flow.apply(conn, chat, target, lifecycle.INBOXD, now) is not None:
                chat = await chats_store.lock_chat(conn, chat_id)
                assert chat is not None
        if "departmentId" in changes:
            target = lifecycle.move(lifecycle.ChatState.of(chat), changes["departmentId"])
            await flow.apply(conn, chat, target, lifecycle.INBOXD, now)

    return apply


async def _replayed(services: Services, chat_id: str, accepted: Accepted) -> Outcome:
    async with services.db.read() as conn:
        rows = await messages_store.get_messages(conn, accepted.message_ids)
    first = rows[0] if rows else None
    text = str((first["content"] or {}).get("text") or "") if first else ""
    session = first is not None and first["type"] != "special"
    return Outcome(chat_id, accepted.message_ids, text, session=session, replay=True)
