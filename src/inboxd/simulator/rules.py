"""Rules Meta enforces on a send that its schema file cannot (or does not) express: counts across
arrays, uniqueness, fields required only in some shapes, limits the file leaves out. Each
function returns the first problem, named by its JSON path, or None. Run after `schema.py`
accepted the body, so the shapes here are already the documented ones."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from inboxd.simulator.schema import Problem

TEXT_MAX = 4096
CAPTION_MAX = 1024
LIST_ROWS_MAX = 10

_NON_DIGITS = re.compile(r"[\s+\-().]")


def normalize_recipient(to: str) -> str | None:
    """The WhatsApp id for a `to`: Meta accepts `+`, `-`, `(`, `)` and spaces and keys users on
    the digits. None when what is left is not a phone number."""
    digits = _NON_DIGITS.sub("", to)
    return digits if digits.isdigit() and 5 <= len(digits) <= 20 else None


def check_message(body: dict[str, Any], kind: str) -> Problem | None:
    if body.get("messaging_product") != "whatsapp":
        return Problem("messaging_product", "must be \"whatsapp\"")
    if body.get("recipient_type", "individual") == "individual" and normalize_recipient(body["to"]) is None:
        return Problem("to", f"is not a valid phone number ({body['to']!r})")
    check = _BY_KIND.get(kind)
    return check(body) if check else None


def _text(body: dict[str, Any]) -> Problem | None:
    text = body["text"].get("body")
    if not isinstance(text, str) or not text.strip():
        return Problem("text.body", "is required")
    if len(text) > TEXT_MAX:
        return Problem("text.body", f"must be at most {TEXT_MAX} characters long (got {len(text)})")
    return None


def _media(kind: str) -> Callable[[dict[str, Any]], Problem | None]:
    def check(body: dict[str, Any]) -> Problem | None:
        caption = body[kind].get("caption")
        if caption is not None:
            if kind in ("audio", "sticker"):
                return Problem(f"{kind}.caption", f"is not supported for {kind} messages")
            if not isinstance(caption, str):
                return Problem(f"{kind}.caption", "must be a string")
            if len(caption) > CAPTION_MAX:
                return Problem(f"{kind}.caption", f"must be at most {CAPTION_MAX} characters long (got {len(caption)})")
        return None

    return check


def _location(body: dict[str, Any]) -> Problem | None:
    location = body["location"]
    for axis, bound in (("latitude", 90.0), ("longitude", 180.0)):
        value = location.get(axis)
        if value is None:
            return Problem(f"location.{axis}", "is required")
        try:
            number = float(value)
        except (TypeError, ValueError):
            return Problem(f"location.{axis}", f"must be a number in decimal degrees (got {value!r})")
        if not -bound <= number <= bound:
            return Problem(f"location.{axis}", f"must be between {-bound:g} and {bound:g}")
    return None


def _contacts(body: dict[str, Any]) -> Problem | None:
    for i, contact in enumerate(body["contacts"]):
        name = (contact.get("name") or {}).get("formatted_name")
        if not isinstance(name, str) or not name.strip():
            return Problem(f"contacts[{i}].name.formatted_name", "is required")
    return None


def _reaction(body: dict[str, Any]) -> Problem | None:
    if not body["reaction"].get("message_id"):
        return Problem("reaction.message_id", "is required")
    if "context" in body:  # Meta: a reaction cannot be sent as a contextual reply
        return Problem("context", "is not allowed on a reaction")
    return None


def _interactive(body: dict[str, Any]) -> Problem | None:
    interactive = body["interactive"]
    kind = interactive["type"]
    header = interactive.get("header")
    if isinstance(header, dict):
        media = header.get("type")
        if media == "text" and not header.get("text"):
            return Problem("interactive.header.text", "is required when header.type is text")
        if media in ("image", "video", "document") and media not in header:
            return Problem(f"interactive.header.{media}", f"is required when header.type is {media}")
    if kind in ("button", "list", "product_list") and not (interactive.get("body") or {}).get("text"):
        return Problem("interactive.body", f"is required for {kind} messages")
    if kind == "button":
        return _reply_buttons(interactive)
    if kind == "list":
        return _list(interactive)
    return None


def _reply_buttons(interactive: dict[str, Any]) -> Problem | None:
    buttons = interactive["action"].get("buttons")
    if not isinstance(buttons, list):
        return Problem("interactive.action.buttons", "is required for button messages")
    titles: set[str] = set()
    ids: set[str] = set()
    for i, button in enumerate(buttons):
        path = f"interactive.action.buttons[{i}].reply"
        title, id_ = button["reply"]["title"], button["reply"]["id"]
        if not title.strip():
            return Problem(f"{path}.title", "must not be empty")
        if title in titles:
            return Problem(f"{path}.title", f"must be unique in the message ({title!r} is repeated)")
        if not id_ or id_ != id_.strip():
            return Problem(f"{path}.id", "must not be empty or have leading/trailing spaces")
        if id_ in ids:
            return Problem(f"{path}.id", f"must be unique in the message ({id_!r} is repeated)")
        titles.add(title)
        ids.add(id_)
    return None


def _list(interactive: dict[str, Any]) -> Problem | None:
    action = interactive["action"]
    if "sections" not in action or "button" not in action:
        return Problem("interactive.action.sections", "and interactive.action.button are required for list messages")
    if not action["button"].strip():
        return Problem("interactive.action.button", "must not be empty")
    header = interactive.get("header")
    if isinstance(header, dict) and header.get("type") != "text":
        return Problem("interactive.header.type", "must be text for list messages")
    sections = action["sections"]
    total = 0
    ids: set[str] = set()
    for i, section in enumerate(sections):
        rows = section.get("rows")
        if not rows:
            return Problem(f"interactive.action.sections[{i}].rows", "must have at least 1 item")
        if len(sections) > 1 and not section.get("title"):
            return Problem(f"interactive.action.sections[{i}].title", "is required when there is more than one section")
        for j, row in enumerate(rows):
            if row["id"] in ids:
                return Problem(
                    f"interactive.action.sections[{i}].rows[{j}].id",
                    f"must be unique in the message ({row['id']!r} is repeated)",
                )
            ids.add(row["id"])
        total += len(rows)
    if total > LIST_ROWS_MAX:  # per section the schema says 10; Meta counts all sections together
        return Problem("interactive.action.sections", f"must have at most {LIST_ROWS_MAX} rows in total (got {total})")
    return None


_BY_KIND: dict[str, Callable[[dict[str, Any]], Problem | None]] = {
    "text": _text,
    "image": _media("image"),
    "video": _media("video"),
    "audio": _media("audio"),
    "document": _media("document"),
    "sticker": _media("sticker"),
    "location": _location,
    "contacts": _contacts,
    "reaction": _reaction,
    "interactive": _interactive,
}
