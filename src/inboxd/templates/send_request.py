"""The body of Send Template Message (Texter §7.3) → a checked `TemplateSendRequest`. Pure: no
I/O; whether the template exists, is approved and fits the values is `templates.sending`'s job.

Fields (the reference's; shapes it leaves open decided here, docs/templates.md):
- `templateName` (required), `to` (required, any common phone format → E.164 digits), `from`
  (the business number, same normalisation), `language`;
- `body` (values of `{{1}}…`), `header` (`{url | fileId, filename?, type?}` for a media header,
  `{text}` for a text header's variable), `buttons` (`[{index?, text | payload}]`);
- `replyAction`: overrides the template's reply behaviour for this send: `chatStatus` (0–3),
  `replyText`, `setBotNode`, `bot`, `responsibleAgent`, `responsibleDepartment`,
  `expirationTime` (seconds, default 259200), `replyToTemplateFile` (`{url, name}`),
  `resolveTime`;
- `setChat`: chat properties set with the send: `displayName`, `crmData` (merged into the
  chat's, like Update CRM Data), `crmDeepLink`, `externalBot`, `departmentId`;
- `sessionMessage`: a Send a Message body sent *instead* when the 24-hour window is open; `{}`
  means "the template's rendered body as a text message";
- `tmpSendId` (or the `Idempotency-Key` header): idempotency, as for Send a Message.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from inboxd.chats.requests import crm_deep_link
from inboxd.domain import limits as send_limits
from inboxd.domain.content import SendRequest, parse_send_request
from inboxd.domain.errors import InvalidRequest, Problems
from inboxd.templates import components as C
from inboxd.templates import limits as L
from inboxd.templates.phones import PhoneProblem, normalize_phone
from inboxd.templates.requests import TEMPLATE_CHAT_STATUSES, parse_values
from inboxd.templates.validation import boolean, integer, obj, text

TEMPLATE_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")
_FIELDS = (
    "templateName", "to", "from", "language", "body", "header", "buttons", "replyAction", "setChat",
    "sessionMessage", "tmpSendId",
)
_REPLY_TEXT_FIELDS = {
    "setBotNode": L.BOT_FIELD,
    "bot": L.BOT_FIELD,
    "responsibleAgent": L.BOT_FIELD,
    "responsibleDepartment": L.BOT_FIELD,
    "replyText": L.REPLY_TEXT,
}
_REPLY_FIELDS = (*_REPLY_TEXT_FIELDS, "chatStatus", "expirationTime", "replyToTemplateFile", "resolveTime")
_SET_CHAT_FIELDS = ("displayName", "crmData", "crmDeepLink", "externalBot", "departmentId")
DISPLAY_NAME = 255  # as Update Chat Properties (§5.6)


@dataclass(frozen=True)
class TemplateSendRequest:
    template_name: str
    to: str  # E.164 digits, no +
    from_: str | None = None  # the business number, digits
    language: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # body, header, buttons
    reply_action: dict[str, Any] | None = None
    set_chat: dict[str, Any] | None = None
    session_message: SendRequest | None = None
    session_message_rendered: bool = False  # `sessionMessage: {}`: the rendered body as text
    tmp_send_id: str | None = None
    canonical: str = ""  # canonical JSON of everything above, for the idempotency hash

    def request_hash(self) -> str:
        return hashlib.sha256(self.canonical.encode()).hexdigest()


def parse_template_send(body: Any, *, default_country_code: str | None) -> TemplateSendRequest:
    problems = Problems()
    if obj(body, "body", problems, _FIELDS) is None:
        problems.raise_if_any("The template send is not valid")
    name = _required(body, "templateName", problems)
    if name is not None:
        name = text(name, "body.templateName", problems, L.TEMPLATE_NAME, pattern=TEMPLATE_NAME_PATTERN,
                    pattern_reason="may hold only letters, digits, _ and -")
    to = _phone(body, "to", problems, default_country_code, required=True)
    from_ = _phone(body, "from", problems, default_country_code, required=False)
    language = None
    if body.get("language") is not None:
        language = text(body["language"], "body.language", problems, L.LANGUAGE, pattern=C.LANGUAGE_PATTERN,
                        pattern_reason="must be a WhatsApp language code such as en, he, en_US")
    values = parse_values(body, "body", problems)
    reply_action = _reply_action(body["replyAction"], problems) if body.get("replyAction") is not None else None
    set_chat = _set_chat(body["setChat"], problems) if body.get("setChat") is not None else None
    session, rendered = _session_message(body, problems)
    tmp_send_id = None
    if body.get("tmpSendId") is not None:
        tmp_send_id = text(body["tmpSendId"], "body.tmpSendId", problems, send_limits.TMP_SEND_ID)
    problems.raise_if_any("The template send is not valid")
    assert name is not None and to is not None
    canonical = json.dumps(
        {
            "templateName": name, "to": to, "from": from_, "language": language, "values": values,
            "replyAction": reply_action, "setChat": set_chat,
            "sessionMessage": None if session is None else session.request_hash(), "rendered": rendered,
            "tmpSendId": tmp_send_id,
        },
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return TemplateSendRequest(
        template_name=name, to=to, from_=from_, language=language, values=values, reply_action=reply_action,
        set_chat=set_chat, session_message=session, session_message_rendered=rendered, tmp_send_id=tmp_send_id,
        canonical=canonical,
    )


def _required(body: dict[str, Any], key: str, problems: Problems) -> Any:
    if body.get(key) is None:
        problems.add(f"body.{key}", "is required")
    return body.get(key)


def _phone(body: dict[str, Any], key: str, problems: Problems, country: str | None, *, required: bool) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            problems.add(f"body.{key}", "is required")
        return None
    if text(value, f"body.{key}", problems, L.TO) is None:
        return None
    try:
        return normalize_phone(value, default_country_code=country)
    except PhoneProblem as exc:
        problems.add(f"body.{key}", str(exc))
        return None


def _reply_action(value: Any, problems: Problems) -> dict[str, Any] | None:
    path = "body.replyAction"
    if obj(value, path, problems, _REPLY_FIELDS) is None:
        return None
    out: dict[str, Any] = {}
    if value.get("chatStatus") is not None:
        out["chatStatus"] = integer(value["chatStatus"], f"{path}.chatStatus", problems, TEMPLATE_CHAT_STATUSES)
    for key, bounds in _REPLY_TEXT_FIELDS.items():
        if value.get(key) is not None:
            out[key] = text(value[key], f"{path}.{key}", problems, bounds)
    if value.get("expirationTime") is not None:
        seconds = value["expirationTime"]
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds not in L.REPLY_EXPIRATION:
            problems.add(f"{path}.expirationTime", f"must be whole seconds, {int(L.REPLY_EXPIRATION.min or 0)} to "
                         f"{int(L.REPLY_EXPIRATION.max or 0)}")
        else:
            out["expirationTime"] = seconds
    if value.get("resolveTime") is not None:
        if isinstance(value["resolveTime"], bool) or not isinstance(value["resolveTime"], int) or value["resolveTime"] < 0:
            problems.add(f"{path}.resolveTime", "must be a non-negative whole number")
        else:
            out["resolveTime"] = value["resolveTime"]
    if value.get("replyToTemplateFile") is not None:
        file = obj(value["replyToTemplateFile"], f"{path}.replyToTemplateFile", problems, ("url", "name"))
        if file is not None:
            out["replyToTemplateFile"] = {
                k: text(file.get(k), f"{path}.replyToTemplateFile.{k}", problems, L.ATTACHED_FILE_FIELD)
                for k in ("url", "name") if file.get(k) is not None
            }
    if out.get("setBotNode") and out.get("chatStatus") not in (None, 0):
        problems.add(f"{path}.setBotNode", "is only for a chatStatus of 0 (BOT)")
    if out.get("responsibleAgent") and out.get("responsibleDepartment"):
        problems.add(f"{path}.responsibleAgent", "give responsibleAgent or responsibleDepartment, not both")
    return out


def _set_chat(value: Any, problems: Problems) -> dict[str, Any] | None:
    path = "body.setChat"
    if obj(value, path, problems, _SET_CHAT_FIELDS) is None:
        return None
    out: dict[str, Any] = {}
    if value.get("displayName") is not None:
        if not isinstance(value["displayName"], str) or len(value["displayName"]) > DISPLAY_NAME:
            problems.add(f"{path}.displayName", f"must be a string of at most {DISPLAY_NAME} characters")
        else:
            out["displayName"] = value["displayName"]
    if value.get("crmData") is not None:
        if not isinstance(value["crmData"], dict):
            problems.add(f"{path}.crmData", "must be an object (merged into the chat's crmData)")
        else:
            out["crmData"] = value["crmData"]
    if value.get("crmDeepLink") is not None:
        out["crmDeepLink"] = crm_deep_link(value["crmDeepLink"], f"{path}.crmDeepLink", problems)
    if value.get("externalBot") is not None:
        out["externalBot"] = boolean(value["externalBot"], f"{path}.externalBot", problems)
    if "departmentId" in value:
        dep = value["departmentId"]
        out["departmentId"] = None if dep is None else text(dep, f"{path}.departmentId", problems, L.DEPARTMENT)
    return out


def _session_message(body: dict[str, Any], problems: Problems) -> tuple[SendRequest | None, bool]:
    value = body.get("sessionMessage")
    if value is None:
        return None, False
    if not isinstance(value, dict):
        problems.add("body.sessionMessage", "must be an object: a Send a Message body, or {} for the template's text")
        return None, False
    if not value:
        return None, True
    if "tmpSendId" in value:
        problems.add("body.sessionMessage.tmpSendId", "give tmpSendId once, at the top of the request")
        return None, False
    try:
        return parse_send_request(value), False
    except InvalidRequest as exc:
        for detail in exc.details:
            problems.add("body.sessionMessage" + detail["path"].removeprefix("body"), detail["reason"])
        return None, False
