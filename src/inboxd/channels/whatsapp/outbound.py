"""Texter message content → the bodies of Cloud API `POST /{phone-number-id}/messages`.

Pure: takes the content as stored on a Message (`inboxd.domain.content`) and, for media, the
Graph media id each item was uploaded as (DESIGN.md: inboxd always sends media by id, so Meta
never has to reach our server). One payload per WhatsApp message: a media message with N items
gives N payloads, in the order of the items; every other type gives one.

Every payload validates against Meta's `Message` schema (tests/channels/whatsapp/test_outbound.py).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

# Media types whose Cloud API object takes a caption / a filename (audio takes neither).
CAPTIONED_MEDIA_TYPES = ("image", "video", "document")
NAMED_MEDIA_TYPES = ("document",)

# WhatsApp previews only http(s) links, and only when asked to.
_HTTP_URL = re.compile(r"https?://\S", re.IGNORECASE)


def cloud_payloads(
    type_: str,
    content: Mapping[str, Any],
    *,
    to: str,
    context: str | None = None,
    media_ids: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The Cloud API request bodies for one Texter message, in sending order.

    `to` is the contact's wa_id; `context` the wamid replied to (set on every payload);
    `media_ids[i]` the Graph media id of `content["media"][i]`.
    """
    if type_ == "media":
        items = content["media"]
        if len(media_ids) != len(items):
            raise ValueError(f"{len(items)} media items but {len(media_ids)} media ids")
        messages = [_media(item, media_id) for item, media_id in zip(items, media_ids, strict=True)]
    elif type_ == "special":
        messages = [_template(content, media_ids)]
    else:
        build = _BUILDERS.get(type_)
        if build is None:
            raise ValueError(f"cannot send a message of type {type_!r}")
        messages = [build(content)]
    return [_envelope(wa_type, body, to=to, context=context) for wa_type, body in messages]


def _envelope(wa_type: str, body: Any, *, to: str, context: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": wa_type,
        wa_type: body,
    }
    if context:
        payload["context"] = {"message_id": context}
    return payload


def _text(content: Mapping[str, Any]) -> tuple[str, Any]:
    text = content["text"]
    return "text", {"body": text, "preview_url": bool(_HTTP_URL.search(text))}


def _buttons(content: Mapping[str, Any]) -> tuple[str, Any]:
    buttons = [{"type": "reply", "reply": {"id": b["payload"], "title": b["title"]}} for b in content["buttons"]]
    return "interactive", {"type": "button", "body": {"text": content["text"]}, "action": {"buttons": buttons}}


def _list(content: Mapping[str, Any]) -> tuple[str, Any]:
    list_ = content["list"]
    sections = []
    for section in list_["sections"]:
        rows = []
        for row in section["rows"]:
            out = {"id": row["payload"], "title": row["title"]}
            if row.get("description"):
                out["description"] = row["description"]
            rows.append(out)
        sections.append({"title": section["title"], "rows": rows} if section.get("title") else {"rows": rows})
    action = {"button": list_["button"], "sections": sections}
    return "interactive", {"type": "list", "body": {"text": content["text"]}, "action": action}


def _contacts(content: Mapping[str, Any]) -> tuple[str, Any]:
    # The stored cards already have WhatsApp's contact shape (validated in domain.content).
    return "contacts", copy.deepcopy(list(content["contacts"]))


def _location(content: Mapping[str, Any]) -> tuple[str, Any]:
    location = content["location"]
    # Meta's LocationMessage types latitude/longitude as strings.
    out = {"latitude": _decimal_string(location["latitude"]), "longitude": _decimal_string(location["longitude"])}
    out.update({key: location[key] for key in ("name", "address") if location.get(key)})
    return "location", out


def _decimal_string(degrees: float) -> str:
    """Plain decimal notation, never an exponent: 1e-05 → "0.00001"."""
    return format(Decimal(repr(float(degrees))), "f")


def _media(item: Mapping[str, Any], media_id: str) -> tuple[str, Any]:
    media_type = item["mediaType"]
    body: dict[str, Any] = {"id": media_id}
    if media_type in CAPTIONED_MEDIA_TYPES and item.get("caption"):
        body["caption"] = item["caption"]
    if media_type in NAMED_MEDIA_TYPES and item.get("filename"):
        body["filename"] = item["filename"]
    return media_type, body


# --- template messages (docs/templates.md) ---------------------------------------------------
#
# A template send is stored as type `special` with `special = {"type": "template", "template":
# {name, language: {code}, components}}`: Meta's own template object, except that a media
# parameter names the inboxd file (`{"fileId", "filename"?, "contentType"?}`) instead of a Graph
# media id, because media ids expire and are per account (the worker uploads the file and passes
# the id in).

TEMPLATE_MEDIA_TYPES = ("image", "video", "document")


def _template_media(content: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(media type, stored media object) of each media parameter of a stored template, in order."""
    special = content.get("special") or {}
    if special.get("type") != "template":
        return []
    found = []
    for component in special["template"].get("components") or []:
        for parameter in component.get("parameters") or []:
            kind = parameter.get("type")
            if kind in TEMPLATE_MEDIA_TYPES and isinstance(parameter.get(kind), dict):
                found.append((kind, parameter[kind]))
    return found


def media_file_ids(type_: str, content: Mapping[str, Any]) -> list[str]:
    """The inboxd file ids a stored message needs uploaded to Graph, in the order
    `cloud_payloads` takes their media ids."""
    if type_ == "media":
        return [item["fileId"] for item in content["media"]]
    if type_ == "special":
        return [media["fileId"] for _kind, media in _template_media(content)]
    return []


def _template(content: Mapping[str, Any], media_ids: Sequence[str]) -> tuple[str, Any]:
    special = content.get("special") or {}
    if special.get("type") != "template":
        raise ValueError(f"cannot send a special message of type {special.get('type')!r}")
    template = copy.deepcopy(dict(special["template"]))
    media = _template_media({"special": {"type": "template", "template": template}})
    if len(media_ids) != len(media):
        raise ValueError(f"{len(media)} template media parameters but {len(media_ids)} media ids")
    for (kind, stored), media_id in zip(media, media_ids, strict=True):
        filename = stored.get("filename")
        stored.clear()
        stored["id"] = media_id
        if kind in NAMED_MEDIA_TYPES and filename:
            stored["filename"] = filename
    return "template", template


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], tuple[str, Any]]] = {
    "text": _text,
    "buttons": _buttons,
    "list": _list,
    "contacts": _contacts,
    "location": _location,
}
