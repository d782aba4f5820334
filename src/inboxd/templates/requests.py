"""The bodies of the template management endpoints (Texter §7.4) → checked values, every problem
reported with its path. Pure: no I/O.

- Create New Template: `title`, `category`, `chatStatus`, `usage` required; `name` optional
  (generated); `isDefault`, `departments`, `setBotNode` (only with chatStatus 0, the bot),
  `bot`, `replyText`, `responsibleAgent` or `responsibleDepartment` (not both), `attachedFile`.
- Update Existing Template: the same attributes, all optional, except `name` and `category`,
  which cannot change; `null` clears an optional one.
- Create or Update Localization: `language`, `components` (`templates.components`), and
  optional send `defaults` (`{body, header, buttons}`, the same shapes as a send's values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from inboxd.domain.errors import Problems
from inboxd.domain.status import ChatStatus
from inboxd.templates import components as C
from inboxd.templates import limits as L
from inboxd.templates.validation import boolean, choice, integer, obj, string_list, text

CATEGORIES = ("MARKETING", "UTILITY")
USAGES = ("inbox", "bulk")
# Create/update take BOT, PENDING, ASSIGNED, RESOLVED (§7.1: 0–3 on create and update).
TEMPLATE_CHAT_STATUSES = tuple(int(s) for s in ChatStatus if s != ChatStatus.BULK)
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_]+$")
MEDIA_HEADER_TYPES = ("image", "video", "document")

# attribute in the API → column
_OPTIONAL_TEXT = {
    "setBotNode": "set_bot_node",
    "bot": "bot",
    "responsibleAgent": "responsible_agent",
    "responsibleDepartment": "responsible_department",
}
_ATTRIBUTES = (
    "title", "chatStatus", "usage", "isDefault", "departments", "replyText", "attachedFile", *_OPTIONAL_TEXT,
)


def parse_create(body: Any) -> dict[str, Any]:
    problems = Problems()
    if obj(body, "body", problems, ("name", "category", *_ATTRIBUTES)) is None:
        problems.raise_if_any("The template is not valid")
    for key in ("title", "category", "chatStatus", "usage"):
        if body.get(key) is None:
            problems.add(f"body.{key}", "is required")
    values = _attributes(body, problems)
    if body.get("category") is not None:
        values["category"] = choice(body["category"], "body.category", problems, CATEGORIES)
    if body.get("name") is not None:
        values["name"] = text(body["name"], "body.name", problems, L.TEMPLATE_NAME, pattern=NAME_PATTERN,
                              pattern_reason="may hold only letters, digits and _")
    _cross_checks(values, problems)
    problems.raise_if_any("The template is not valid")
    return values


def parse_update(body: Any, current: dict[str, Any]) -> dict[str, Any]:
    """The columns to change; `current` is the template's row (for the cross-field rules)."""
    problems = Problems()
    if obj(body, "body", problems, (*_ATTRIBUTES, "name", "category")) is None:
        problems.raise_if_any("The update is not valid")
    for key in ("name", "category"):
        if key in body:
            problems.add(f"body.{key}", "cannot be changed; create a new template instead")
    for key in ("title", "chatStatus", "usage", "isDefault", "departments"):
        if key in body and body[key] is None:
            problems.add(f"body.{key}", "cannot be null")
    values = _attributes(body, problems)
    merged = {**dict(current), **values}
    _cross_checks(merged, problems)
    problems.raise_if_any("The update is not valid")
    return values


def _attributes(body: dict[str, Any], problems: Problems) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if body.get("title") is not None:
        out["title"] = text(body["title"], "body.title", problems, L.TITLE)
    if body.get("chatStatus") is not None:
        out["chat_status"] = integer(body["chatStatus"], "body.chatStatus", problems, TEMPLATE_CHAT_STATUSES)
    if body.get("usage") is not None:
        out["usage"] = choice(body["usage"], "body.usage", problems, USAGES)
    if body.get("isDefault") is not None:
        out["is_default"] = boolean(body["isDefault"], "body.isDefault", problems)
    if body.get("departments") is not None:
        out["departments"] = string_list(body["departments"], "body.departments", problems, L.DEPARTMENTS, L.DEPARTMENT)
    for key, column in _OPTIONAL_TEXT.items():
        if key in body:
            out[column] = None if body[key] is None else text(body[key], f"body.{key}", problems, L.BOT_FIELD)
    if "replyText" in body:
        out["reply_text"] = None if body["replyText"] is None else text(body["replyText"], "body.replyText", problems, L.REPLY_TEXT)
    if "attachedFile" in body:
        out["attached_file"] = None if body["attachedFile"] is None else _attached_file(body["attachedFile"], problems)
    return out


def _attached_file(value: Any, problems: Problems) -> dict[str, str] | None:
    if obj(value, "body.attachedFile", problems, ("name", "url")) is None:
        return None
    out = {}
    for key in ("name", "url"):
        checked = text(value.get(key), f"body.attachedFile.{key}", problems, L.ATTACHED_FILE_FIELD)
        if checked is not None:
            out[key] = checked
    return out


def _cross_checks(values: dict[str, Any], problems: Problems) -> None:
    if values.get("set_bot_node") and values.get("chat_status") not in (None, int(ChatStatus.BOT)):
        problems.add("body.setBotNode", "is only for templates whose chatStatus is 0 (BOT)")
    if values.get("responsible_agent") and values.get("responsible_department"):
        problems.add("body.responsibleAgent", "give responsibleAgent or responsibleDepartment, not both")


# ----------------------------------------------------------------------------- localization


@dataclass(frozen=True)
class LocalizationDraft:
    language: str
    components: list[dict[str, Any]]
    defaults: dict[str, Any]  # checked shapes; a header url is still to be ingested


def parse_localization(body: Any) -> LocalizationDraft:
    problems = Problems()
    if obj(body, "body", problems, ("language", "components", "defaults")) is None:
        problems.raise_if_any("The localization is not valid")
    language = text(body.get("language"), "body.language", problems, L.LANGUAGE, pattern=C.LANGUAGE_PATTERN,
                    pattern_reason="must be a WhatsApp language code such as en, he, en_US")
    components = C.check_components(body.get("components"), "body.components", problems)
    defaults: dict[str, Any] = {}
    if body.get("defaults") is not None and obj(body["defaults"], "body.defaults", problems, ("body", "header", "buttons")):
        defaults = parse_values(body["defaults"], "body.defaults", problems)
    if components is not None and not problems:
        check_values_fit(components, defaults, "body.defaults", problems, require_all=False)
        if not problems:
            C.fill_examples(components, defaults)
            C.missing_examples(components, "body.components", problems)
    problems.raise_if_any("The localization is not valid")
    assert language is not None and components is not None
    return LocalizationDraft(language, components, defaults)


# ----------------------------------------------------------------------------- values of a send


def parse_values(source: dict[str, Any], path: str, problems: Problems) -> dict[str, Any]:
    """`body`, `header`, `buttons` of a send (or of a localization's defaults), checked for shape;
    whether they fit the template is `check_values_fit`."""
    out: dict[str, Any] = {}
    if source.get("body") is not None:
        values = source["body"]
        if not isinstance(values, list) or len(values) not in L.BODY_VALUES:
            problems.add(f"{path}.body", f"must be an array of at most {int(L.BODY_VALUES.max or 0)} strings")
        else:
            for i, value in enumerate(values):
                reason = C.value_problem(value)
                if reason:
                    problems.add(f"{path}.body[{i}]", reason)
            out["body"] = list(values)
    if source.get("header") is not None:
        header = _header_value(source["header"], f"{path}.header", problems)
        if header is not None:
            out["header"] = header
    if source.get("buttons") is not None:
        buttons = _button_values(source["buttons"], f"{path}.buttons", problems)
        if buttons is not None:
            out["buttons"] = buttons
    return out


def _header_value(value: Any, path: str, problems: Problems) -> dict[str, Any] | None:
    if obj(value, path, problems, ("type", "url", "fileId", "filename", "text")) is None:
        return None
    sources = [k for k in ("url", "fileId", "text") if value.get(k) is not None]
    if len(sources) != 1:
        problems.add(path, "give exactly one of url or fileId (a media header) or text (a text header's variable)")
        return None
    out: dict[str, Any] = {}
    if value.get("type") is not None:
        out["type"] = choice(value["type"], f"{path}.type", problems, MEDIA_HEADER_TYPES)
    if "text" in sources:
        reason = C.value_problem(value["text"])
        if reason:
            problems.add(f"{path}.text", reason)
        out["text"] = value["text"]
        if value.get("filename") is not None or value.get("type") is not None:
            problems.add(path, "type and filename are for a media header")
        return out
    key = sources[0]
    if not isinstance(value[key], str) or not value[key]:
        problems.add(f"{path}.{key}", "must be a non-empty string")
    out[key] = value[key]
    if value.get("filename") is not None:
        if not isinstance(value["filename"], str) or not 1 <= len(value["filename"]) <= 255:
            problems.add(f"{path}.filename", "must be 1 to 255 characters")
        out["filename"] = value["filename"]
    return out


def _button_values(value: Any, path: str, problems: Problems) -> list[dict[str, Any]] | None:
    """`[{index?, text? | payload?}]`: `text` fills a URL button's {{1}}, `payload` is what a quick
    reply sends back; `index` (0-based, default the item's position) names the button."""
    if not isinstance(value, list) or len(value) > 10:
        problems.add(path, "must be an array of at most 10 button values")
        return None
    out, seen = [], set()
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if obj(item, where, problems, ("index", "text", "payload")) is None:
            continue
        index = item.get("index", i)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 9:
            problems.add(f"{where}.index", "must be a button position, 0 to 9")
            continue
        if index in seen:
            problems.add(f"{where}.index", f"button {index} is given twice")
            continue
        seen.add(index)
        given = [k for k in ("text", "payload") if item.get(k) is not None]
        if len(given) != 1:
            problems.add(where, "give text (a URL button's variable) or payload (a quick reply's), not both")
            continue
        key = given[0]
        reason = C.value_problem(item[key])
        if reason is None and key == "payload" and len(item[key]) not in L.QUICK_REPLY_PAYLOAD:
            reason = f"must be at most {int(L.QUICK_REPLY_PAYLOAD.max or 0)} characters"
        if reason is None and key == "text" and (len(item[key]) not in L.URL_SUFFIX or " " in item[key]):
            reason = "must be a URL part without spaces (URL-encode it), at most 2000 characters"
        if reason:
            problems.add(f"{where}.{key}", reason)
            continue
        out.append({"index": index, key: item[key]})
    return sorted(out, key=lambda b: b["index"])


def check_values_fit(
    components: list[dict[str, Any]], values: dict[str, Any], path: str, problems: Problems, *, require_all: bool
) -> None:
    """Whether `values` fit a localization: as many body values as the body has variables, a
    header value of the header's kind, button values for existing buttons of the right kind.
    `require_all`: every variable must be filled (a send), not just those given (defaults)."""
    wanted = C.body_variables(components)
    body = values.get("body")
    if body is not None and len(body) != wanted:
        problems.add(f"{path}.body", f"the template's body has {_variables(wanted)}; {len(body)} value{'s' if len(body) != 1 else ''} given")
    elif body is None and wanted and require_all:
        problems.add(f"{path}.body", f"the template's body has {_variables(wanted)}; give them in body (or set defaults)")
    fmt = C.header_format(components)
    header = values.get("header")
    if header is not None:
        if fmt is None:
            problems.add(f"{path}.header", "the template has no header")
        elif "text" in header and fmt != "TEXT":
            problems.add(f"{path}.header", f"the template's header is {fmt}: give url or fileId")
        elif "text" in header and not C.header_variables(components):
            problems.add(f"{path}.header.text", "the template's header has no variable")
        elif "text" not in header and fmt not in C.MEDIA_FORMATS:
            problems.add(f"{path}.header", f"the template's header is {fmt}, not a media header")
        elif header.get("type") and header["type"].upper() != fmt:
            problems.add(f"{path}.header.type", f"the template's header is {fmt.lower()}")
    elif require_all and fmt in C.MEDIA_FORMATS:
        problems.add(f"{path}.header", f"the template has a{'n' if fmt == 'IMAGE' else ''} {fmt} header: give header.url or header.fileId (or set a default)")
    elif require_all and C.header_variables(components):
        problems.add(f"{path}.header", "the template's header has a variable: give header.text (or set a default)")
    buttons = C.buttons(components)
    given = {b["index"]: b for b in values.get("buttons") or []}
    for index, value in given.items():
        if index >= len(buttons):
            problems.add(f"{path}.buttons", f"the template has {len(buttons)} button{'s' if len(buttons) != 1 else ''}; there is no button {index}")
            continue
        kind = buttons[index]["type"]
        if "text" in value and not C.url_has_variable(buttons[index]):
            problems.add(f"{path}.buttons", f"button {index} is {kind} without a variable: it takes no text")
        if "payload" in value and kind != C.QUICK_REPLY:
            problems.add(f"{path}.buttons", f"button {index} is {kind}: only QUICK_REPLY buttons take a payload")
    if require_all:
        for index, button in enumerate(buttons):
            if C.url_has_variable(button) and "text" not in given.get(index, {}):
                problems.add(f"{path}.buttons", f"URL button {index} has a variable: give its text (or set a default)")


def _variables(count: int) -> str:
    names = ", ".join(f"{{{{{n}}}}}" for n in range(1, count + 1))
    return f"{count} variable{'s' if count != 1 else ''} ({names})" if count else "no variables"
