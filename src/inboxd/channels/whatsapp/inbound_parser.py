"""Meta's `messages` webhook → inboxd's inbound items (pure; no I/O).

Each inbound WhatsApp message becomes the content of a Texter Message (reference §3.3):
text → `text`; image/video/audio/document/sticker → `media` (the file is fetched later by
`media_id`); location; contacts; interactive button/list replies and template quick-reply
`button` taps → `postback`; everything else (reactions, orders, system notices, unsupported
kinds) → `special` with the raw WhatsApp object, so nothing is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inboxd.domain.status import WHATSAPP_STATUS

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")


class MalformedWebhook(ValueError):
    """The payload is not a WhatsApp Business Account webhook we can read."""


@dataclass
class MediaRef:
    media_id: str
    media_type: str
    mime_type: str | None = None
    sha256: str | None = None
    filename: str | None = None
    caption: str | None = None
    url: str | None = None


@dataclass
class InboundMessage:
    phone_number_id: str
    contact_id: str
    profile_name: str | None
    external_id: str
    timestamp_ms: int
    type: str
    content: dict[str, Any]
    media: MediaRef | None = None
    context_id: str | None = None
    reaction_to: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class StatusReport:
    phone_number_id: str
    external_id: str
    status: int
    timestamp_ms: int
    recipient_id: str | None
    error: dict[str, Any] | None
    # `biz_opaque_callback_data` echoed from the send: inboxd puts its message id there
    callback_data: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class OtherChange:
    """A change of another webhook field (e.g. `message_template_status_update`)."""

    waba_id: str | None
    field: str
    value: dict[str, Any]
    time_ms: int | None = None  # the entry's `time` (when Meta triggered the webhook), if given


@dataclass
class ParsedWebhook:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusReport] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    other: list[OtherChange] = field(default_factory=list)

    @property
    def phone_number_ids(self) -> set[str]:
        return {m.phone_number_id for m in self.messages} | {s.phone_number_id for s in self.statuses}


def _ms(timestamp: Any) -> int:
    try:
        return int(timestamp) * 1000
    except (TypeError, ValueError) as exc:
        raise MalformedWebhook(f"bad timestamp {timestamp!r}") from exc


def first_error(errors: Any) -> dict[str, Any] | None:
    if not isinstance(errors, list) or not errors:
        return None
    error = errors[0]
    out: dict[str, Any] = {"code": error.get("code"), "title": error.get("title"), "message": error.get("message")}
    details = (error.get("error_data") or {}).get("details")
    if details:
        out["details"] = details
    return out


def _content(message: dict[str, Any]) -> tuple[str, dict[str, Any], MediaRef | None, str | None]:
    """(texter type, content, media reference, reaction target)."""
    kind = message.get("type")
    body = message.get(kind) if isinstance(kind, str) else None
    if kind == "text" and isinstance(body, dict):
        return "text", {"text": body.get("body", "")}, None, None
    if kind in MEDIA_TYPES and isinstance(body, dict) and body.get("id"):
        ref = MediaRef(
            media_id=str(body["id"]),
            media_type=kind,
            mime_type=body.get("mime_type"),
            sha256=body.get("sha256"),
            filename=body.get("filename"),
            caption=body.get("caption"),
            url=body.get("url"),
        )
        item: dict[str, Any] = {"mediaType": kind}
        if ref.caption:
            item["caption"] = ref.caption
        if ref.filename:
            item["filename"] = ref.filename
        if ref.mime_type:
            item["contentType"] = ref.mime_type.split(";")[0].strip()
        meta = {k: body[k] for k in ("voice", "animated") if k in body}
        if meta:
            item["metadata"] = meta
        return "media", {"media": [item]}, ref, None
    if kind == "location" and isinstance(body, dict):
        location = {k: body[k] for k in ("latitude", "longitude", "name", "address", "url") if k in body}
        return "location", {"location": location}, None, None
    if kind == "contacts" and isinstance(body, list):
        return "contacts", {"contacts": body}, None, None
    if kind == "interactive" and isinstance(body, dict):
        reply = body.get(body.get("type", ""))
        if body.get("type") in ("button_reply", "list_reply") and isinstance(reply, dict):
            postback = {"payload": reply.get("id"), "title": reply.get("title")}
            if reply.get("description"):
                postback["description"] = reply["description"]
            return "postback", {"postback": postback}, None, None
    if kind == "button" and isinstance(body, dict):
        return "postback", {"postback": {"payload": body.get("payload"), "title": body.get("text")}}, None, None
    special: dict[str, Any] = {"type": kind or "unknown", "payload": message}
    target = body.get("message_id") if kind == "reaction" and isinstance(body, dict) else None
    return "special", {"special": special}, None, target


def parse_webhook(payload: Any) -> ParsedWebhook:
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise MalformedWebhook("expected an object with an `entry` array")
    parsed = ParsedWebhook()
    for entry in payload["entry"]:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            if change.get("field") != "messages":
                time_ms = _ms(entry["time"]) if isinstance(entry.get("time"), int) else None
                parsed.other.append(OtherChange(entry.get("id"), str(change.get("field")), value, time_ms))
                continue
            _parse_messages_value(value, parsed)
    return parsed


def _parse_messages_value(value: dict[str, Any], parsed: ParsedWebhook) -> None:
    phone_number_id = str((value.get("metadata") or {}).get("phone_number_id") or "")
    if not phone_number_id:
        raise MalformedWebhook("a `messages` change without metadata.phone_number_id")
    names = {
        str(c.get("wa_id")): (c.get("profile") or {}).get("name") for c in value.get("contacts") or [] if c.get("wa_id")
    }
    for message in value.get("messages") or []:
        if not message.get("id") or not message.get("from"):
            raise MalformedWebhook("an inbound message without `id` or `from`")
        type_, content, media, reaction_to = _content(message)
        if type_ == "special" and message.get("errors"):
            content["special"]["errors"] = message["errors"]
        contact = str(message["from"])
        parsed.messages.append(
            InboundMessage(
                phone_number_id=phone_number_id,
                contact_id=contact,
                profile_name=names.get(contact),
                external_id=str(message["id"]),
                timestamp_ms=_ms(message.get("timestamp")),
                type=type_,
                content=content,
                media=media,
                context_id=(message.get("context") or {}).get("id"),
                reaction_to=reaction_to,
                raw=message,
            )
        )
    for status in value.get("statuses") or []:
        code = WHATSAPP_STATUS.get(status.get("status"))
        if code is None or not status.get("id"):
            continue  # e.g. `played`, `deleted`: not a delivery status inboxd tracks
        parsed.statuses.append(
            StatusReport(
                phone_number_id=phone_number_id,
                external_id=str(status["id"]),
                status=int(code),
                timestamp_ms=_ms(status.get("timestamp")),
                recipient_id=status.get("recipient_id"),
                error=first_error(status.get("errors")),
                callback_data=status.get("biz_opaque_callback_data"),
                raw=status,
            )
        )
    for error in value.get("errors") or []:
        parsed.errors.append({"phone_number_id": phone_number_id, **error})
