"""The body of Send a Message to Chat (Texter API v2 §3.1) → a validated `SendRequest`.

Pure: no I/O. Whether a `fileId` exists, whether `context` names a message of this chat and
whether the 24-hour window is open are checked by the caller.

Validation walks the body once against a small declarative description of each type and
reports EVERY problem it finds (not only the first) as `details` of one `InvalidRequest`, each
with the JSON path of the offending value (`body.buttons[0].title`). A hand-written walker
rather than Pydantic models, because rules across fields (unique titles, rows in total,
section titles, exactly one of url/fileId) must be reported together with the per-field ones,
and Pydantic skips model validators as soon as a field fails.

Decisions where the reference is silent (docs/send-message.md lists them all):
- `null`, and `""` for an optional text field, mean "not given"; the field is left out of the
  stored content.
- Location is nested, `{"type": "location", "location": {latitude, longitude, name?, address?}}`,
  the shape a stored/received Message carries; top-level `latitude` etc. are refused.
- Coordinates are stored as floats, so `37` and `37.0` are the same request.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import orjson

from inboxd.domain import limits as L
from inboxd.domain.errors import Problems, json_path
from inboxd.domain.ids import is_id
from inboxd.domain.limits import Bounds

TYPES = ("text", "media", "buttons", "list", "contacts", "location")
MEDIA_TYPES = ("image", "video", "audio", "document")
CAPTIONLESS_MEDIA_TYPES = ("audio",)  # WhatsApp's audio message has no caption field
CONTACT_FIELD_TYPES = ("HOME", "WORK")  # the enum of Meta's ContactObject sub-objects

# A 1 MiB body of empty objects would otherwise yield hundreds of thousands of details.
_WHAT = "The message is not valid"

Path = tuple[Any, ...]
Report = Callable[[Path, str], None]
Rule = Callable[[Any, Path, Report], None]

_INVALID = object()  # a value that failed its checks
_ANY_LENGTH = Bounds(None, None, "inboxd")
_NON_EMPTY = Bounds(1, None, "inboxd")


# ----------------------------------------------------------------------------- the walker


@dataclass(frozen=True)
class _Str:
    bounds: Bounds
    check: Callable[[str], str | None] | None = None  # returns a reason when the value is bad


@dataclass(frozen=True)
class _Num:
    bounds: Bounds


@dataclass(frozen=True)
class _Enum:
    choices: tuple[str, ...]


@dataclass(frozen=True)
class _Arr:
    item: _Spec
    bounds: Bounds
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class _Obj:
    required: Mapping[str, _Spec] = field(default_factory=dict)
    optional: Mapping[str, _Spec] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    unknown: Callable[[str], str] | None = None  # the reason given for a field not listed


class _Anything:
    """Accepts any value; used for fields we cannot judge because `type` is missing."""


_Spec = _Str | _Num | _Enum | _Arr | _Obj | _Anything


def _check(spec: _Spec, value: Any, path: Path, report: Report) -> Any:
    """Report every problem of `value` against `spec`; return the normalized value or _INVALID."""
    if isinstance(spec, _Str):
        return _check_str(spec, value, path, report)
    if isinstance(spec, _Num):
        return _check_num(spec, value, path, report)
    if isinstance(spec, _Enum):
        if isinstance(value, str) and value in spec.choices:
            return value
        report(path, f"must be one of: {', '.join(spec.choices)}")
        return _INVALID
    if isinstance(spec, _Arr):
        return _check_arr(spec, value, path, report)
    if isinstance(spec, _Obj):
        return _check_obj(spec, value, path, report)
    return value


def _check_str(spec: _Str, value: Any, path: Path, report: Report) -> Any:
    if not isinstance(value, str):
        report(path, "must be a string")
        return _INVALID
    if not _storable(value):
        report(path, "must be valid text (no NUL characters or unpaired surrogates)")
        return _INVALID
    low, high, n = spec.bounds.min, spec.bounds.max, len(value)
    if low is not None and n < low:
        report(path, "must not be empty" if n == 0 else f"must be at least {low:g} characters long")
        return _INVALID
    if high is not None and n > high:
        report(path, f"must be at most {high:g} characters long (has {n})")
        return _INVALID
    # A field that must be non-empty is shown to the contact: whitespace alone shows nothing.
    if low and not value.strip():
        report(path, "must not be blank")
        return _INVALID
    reason = spec.check(value) if spec.check else None
    if reason:
        report(path, reason)
        return _INVALID
    return value


def _storable(value: str) -> bool:
    # JSON may escape a lone surrogate ("\ud800") or NUL ("\u0000"): Python accepts both, but
    # neither UTF-8 nor PostgreSQL's jsonb can hold them, so they would fail after validation.
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_num(spec: _Num, value: Any, path: Path, report: Report) -> Any:
    # bool is an int in Python, but `true` is not a coordinate.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        report(path, "must be a number")
        return _INVALID
    if value not in spec.bounds:
        report(path, f"must be between {spec.bounds.min:g} and {spec.bounds.max:g}")
        return _INVALID
    return float(value)


def _check_arr(spec: _Arr, value: Any, path: Path, report: Report) -> Any:
    if not isinstance(value, list):
        report(path, "must be an array")
        return _INVALID
    ok = True
    low, high, n = spec.bounds.min, spec.bounds.max, len(value)
    if low is not None and n < low:
        report(path, f"must have at least {low:g} item{'s' if low != 1 else ''}")
        ok = False
    if high is not None and n > high:
        report(path, f"must have at most {high:g} items (has {n})")
        ok = False
    items = [_check(spec.item, item, (*path, i), report) for i, item in enumerate(value)]
    for rule in spec.rules:
        rule(value, path, report)
    if not ok or any(item is _INVALID for item in items):
        return _INVALID
    return items


def _is_absent(spec: _Spec, value: Any) -> bool:
    return value is None or (value == "" and isinstance(spec, _Str))


def _check_obj(spec: _Obj, value: Any, path: Path, report: Report) -> Any:
    if not isinstance(value, dict):
        report(path, "must be an object")
        return _INVALID
    out: dict[str, Any] = {}
    ok = True
    for key, item in value.items():
        if key in spec.required:
            item_spec = spec.required[key]
        elif key in spec.optional:
            item_spec = spec.optional[key]
            if _is_absent(item_spec, item):
                continue
        else:
            report((*path, key), spec.unknown(key) if spec.unknown else _unknown_field(spec))
            ok = False
            continue
        checked = _check(item_spec, item, (*path, key), report)
        if checked is _INVALID:
            ok = False
        else:
            out[key] = checked
    for key in spec.required:
        if key not in value:
            report((*path, key), "is required")
            ok = False
    for rule in spec.rules:
        rule(value, path, report)
    return out if ok else _INVALID


def _unknown_field(spec: _Obj) -> str:
    return f"is not a known field (known: {', '.join([*spec.required, *spec.optional])})"


# ----------------------------------------------------------------------------- string syntax


def _http_url(value: str) -> str | None:
    """Syntax only; reachability, redirects and the SSRF guard belong to the downloader."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket or a bad port
        ok = False
    if not ok or any(c.isspace() or not c.isprintable() for c in value):
        return "must be an absolute http(s) URL"
    return None


def _file_id(value: str) -> str | None:
    return None if is_id(value) else "must be a file id (24 lowercase hexadecimal characters)"


def _no_surrounding_space(value: str) -> str | None:
    # Meta: a reply button id has "no leading/trailing spaces".
    return "must not start or end with whitespace" if value != value.strip() else None


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _email(value: str) -> str | None:
    return None if _EMAIL.match(value) else "must be an e-mail address"


def _iso_date(value: str) -> str | None:
    try:
        if _ISO_DATE.match(value):
            date.fromisoformat(value)
            return None
    except ValueError:
        pass
    return "must be a date as YYYY-MM-DD"


# ----------------------------------------------------------------------------- rules across fields


def _unique(key: str, what: str) -> Rule:
    """Each `key` of the objects in an array appears once; the later duplicates are reported."""

    def rule(items: list[Any], path: Path, report: Report) -> None:
        _report_duplicates(
            [((*path, i), it.get(key)) for i, it in enumerate(items) if isinstance(it, dict)], key, what, report
        )

    return rule


def _report_duplicates(entries: list[tuple[Path, Any]], key: str, what: str, report: Report) -> None:
    first: dict[str, Path] = {}
    for path, value in entries:
        if not isinstance(value, str):
            continue
        if value in first:
            report((*path, key), f"must be unique: the same {what} as {json_path(first[value])}.{key}")
        else:
            first[value] = path


def _exactly_one_source(item: Any, path: Path, report: Report) -> None:
    given = [key for key in ("url", "fileId") if item.get(key) not in (None, "")]
    if len(given) != 1:
        report(path, "must have exactly one of url or fileId" + (", not both" if given else ""))


def _caption_fits_type(item: Any, path: Path, report: Report) -> None:
    if item.get("mediaType") in CAPTIONLESS_MEDIA_TYPES and item.get("caption") not in (None, ""):
        report((*path, "caption"), f"is not supported for mediaType {item['mediaType']!r}")


def _sections(list_: Any) -> list[tuple[int, dict[str, Any]]]:
    sections = list_.get("sections")
    return [(i, s) for i, s in enumerate(sections) if isinstance(s, dict)] if isinstance(sections, list) else []


def _section_titles_when_several(list_: Any, path: Path, report: Report) -> None:
    sections = _sections(list_)
    if len(sections) > 1:  # WhatsApp shows section titles only to tell sections apart
        for i, section in sections:
            if section.get("title") in (None, ""):
                report((*path, "sections", i, "title"), "is required when the list has more than one section")


def _rows_in_total(list_: Any, path: Path, report: Report) -> None:
    total = sum(len(s["rows"]) for _, s in _sections(list_) if isinstance(s.get("rows"), list))
    if total > L.ROWS_TOTAL.max:  # type: ignore[operator]
        report(
            (*path, "sections"),
            f"must have at most {L.ROWS_TOTAL.max:g} rows in total across all sections (has {total})",
        )


def _unique_row_payloads(list_: Any, path: Path, report: Report) -> None:
    rows = [
        ((*path, "sections", i, "rows", j), row.get("payload"))
        for i, section in _sections(list_)
        if isinstance(section.get("rows"), list)
        for j, row in enumerate(section["rows"])
        if isinstance(row, dict)
    ]
    _report_duplicates(rows, "payload", "payload", report)


# ----------------------------------------------------------------------------- the request shapes


_MEDIA_ITEM = _Obj(
    required={"mediaType": _Enum(MEDIA_TYPES)},
    optional={
        "url": _Str(L.MEDIA_URL, _http_url),
        "fileId": _Str(_ANY_LENGTH, _file_id),
        "caption": _Str(L.CAPTION),
        "filename": _Str(L.FILENAME),
    },
    rules=(_exactly_one_source, _caption_fits_type),
)

_BUTTON = _Obj(required={"title": _Str(L.BUTTON_TITLE), "payload": _Str(L.BUTTON_PAYLOAD, _no_surrounding_space)})

_ROW = _Obj(
    required={"title": _Str(L.ROW_TITLE), "payload": _Str(L.ROW_PAYLOAD)},
    optional={"description": _Str(L.ROW_DESCRIPTION)},
)
_SECTION = _Obj(
    required={"rows": _Arr(_ROW, L.ROWS_PER_SECTION)},
    optional={"title": _Str(L.SECTION_TITLE)},
)
_LIST = _Obj(
    required={"button": _Str(L.LIST_BUTTON), "sections": _Arr(_SECTION, L.SECTIONS)},
    rules=(_section_titles_when_several, _rows_in_total, _unique_row_payloads),
)

_CONTACT_FIELD_TYPE = _Enum(CONTACT_FIELD_TYPES)


def _strings(*names: str) -> dict[str, _Spec]:
    return {name: _Str(_ANY_LENGTH) for name in names}


# WhatsApp's contact card, as Meta's ContactObject schema describes it (plus formatted_name
# required, which the Cloud API needs to show the card).
_CONTACT_CARD = _Obj(
    required={
        "name": _Obj(
            required={"formatted_name": _Str(_NON_EMPTY)},
            optional=_strings("first_name", "last_name", "middle_name", "prefix", "suffix"),
        )
    },
    optional={
        "phones": _Arr(
            _Obj(required={"phone": _Str(_NON_EMPTY)}, optional={"type": _CONTACT_FIELD_TYPE, **_strings("wa_id")}),
            _ANY_LENGTH,
        ),
        "emails": _Arr(
            _Obj(required={"email": _Str(_NON_EMPTY, _email)}, optional={"type": _CONTACT_FIELD_TYPE}), _ANY_LENGTH
        ),
        "urls": _Arr(_Obj(required={"url": _Str(_NON_EMPTY)}, optional={"type": _CONTACT_FIELD_TYPE}), _ANY_LENGTH),
        "addresses": _Arr(
            _Obj(
                optional={
                    "type": _CONTACT_FIELD_TYPE,
                    **_strings("street", "city", "state", "zip", "country", "country_code"),
                }
            ),
            _ANY_LENGTH,
        ),
        "org": _Obj(optional=_strings("company", "department", "title")),
        "birthday": _Str(_NON_EMPTY, _iso_date),
    },
)

_LOCATION = _Obj(
    required={"latitude": _Num(L.LATITUDE), "longitude": _Num(L.LONGITUDE)},
    optional={"name": _Str(L.LOCATION_NAME), "address": _Str(L.LOCATION_ADDRESS)},
)

# The content fields of each type: exactly what a stored Message of that type carries.
_CONTENT_FIELDS: dict[str, dict[str, _Spec]] = {
    "text": {"text": _Str(L.TEXT)},
    "media": {"media": _Arr(_MEDIA_ITEM, L.MEDIA_ITEMS)},
    "buttons": {
        "text": _Str(L.INTERACTIVE_BODY),
        "buttons": _Arr(_BUTTON, L.BUTTONS, rules=(_unique("title", "title"), _unique("payload", "payload"))),
    },
    "list": {"text": _Str(L.INTERACTIVE_BODY), "list": _LIST},
    "contacts": {"contacts": _Arr(_CONTACT_CARD, L.CONTACTS)},
    "location": {"location": _LOCATION},
}

_COMMON_FIELDS: dict[str, _Spec] = {"context": _Str(L.CONTEXT), "tmpSendId": _Str(L.TMP_SEND_ID)}
_LOCATION_FIELDS = ("latitude", "longitude", "name", "address")


def _unknown_for(type_: str | None) -> Callable[[str], str]:
    def reason(key: str) -> str:
        owners = [t for t, fields in _CONTENT_FIELDS.items() if key in fields]
        if owners:
            return f"is not allowed for type {type_!r} (it belongs to type {', '.join(owners)})"
        if type_ == "location" and key in _LOCATION_FIELDS:
            return f"is not a known field: put {key} inside location"
        return "is not a known field"

    return reason


_BODY_BY_TYPE = {
    type_: _Obj(
        required={"type": _Enum(TYPES), **fields},
        optional=_COMMON_FIELDS,
        unknown=_unknown_for(type_),
    )
    for type_, fields in _CONTENT_FIELDS.items()
}
# Without a valid `type` the content fields cannot be judged, but everything else can.
_BODY_UNTYPED = _Obj(
    required={"type": _Enum(TYPES)},
    optional={**_COMMON_FIELDS, **{key: _Anything() for fields in _CONTENT_FIELDS.values() for key in fields}},
    unknown=_unknown_for(None),
)


# ----------------------------------------------------------------------------- the result


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True)
class SendRequest:
    """A valid Send a Message to Chat body.

    `content_json` is the canonical JSON of the content as it is stored on the Message (e.g.
    `{"text": ...}`, `{"text": ..., "buttons": [...]}`, `{"location": {...}}`); kept as a string
    so the request is immutable all the way down. `content` returns a fresh copy.
    """

    type: str
    content_json: str
    context: str | None = None
    tmp_send_id: str | None = None

    @property
    def content(self) -> dict[str, Any]:
        return orjson.loads(self.content_json)  # (stdlib json's decoder was 4 % of a delivered message's CPU)

    def message_contents(self) -> list[dict[str, Any]]:
        """The content of each WhatsApp message this request makes, in order: one per media
        item (`{"media": [item]}`), otherwise the content itself."""
        content = self.content
        if self.type == "media":
            return [{"media": [item]} for item in content["media"]]
        return [content]

    def request_hash(self) -> str:
        """SHA-256 of the normalized request: the same for bodies that mean the same (key order,
        `null` optionals, `37` vs `37.0`), different whenever type, content, context or tmpSendId
        differ. Idempotency compares it to tell a replay from a reused key."""
        normalized = {"type": self.type, "content": orjson.loads(self.content_json)}
        if self.context is not None:
            normalized["context"] = self.context
        if self.tmp_send_id is not None:
            normalized["tmpSendId"] = self.tmp_send_id
        return hashlib.sha256(_canonical_json(normalized).encode()).hexdigest()


def parse_send_request(body: Any) -> SendRequest:
    """Validate a decoded JSON body; raise `InvalidRequest` with every problem in `details`."""
    problems = Problems()
    request = check_send_request(body, ("body",), problems)
    if request is None:
        raise problems.error(_WHAT)
    return request


def check_send_request(body: Any, path: Path, problems: Problems) -> SendRequest | None:
    """The same validation for a body found at `path` inside a larger request (a quick reply's
    `send.contents[i]`): every problem goes to `problems`; None when there was any."""
    before = len(problems.items)

    def report(at: Path, reason: str) -> None:
        problems.add(json_path(at), reason)

    if not isinstance(body, dict):
        report(path, "must be a JSON object")
        return None
    type_ = body.get("type")
    spec = _BODY_BY_TYPE.get(type_) if isinstance(type_, str) else None
    checked = _check(spec or _BODY_UNTYPED, body, path, report)
    if len(problems.items) > before or checked is _INVALID:
        return None
    content = {key: checked[key] for key in _CONTENT_FIELDS[type_]}  # type: ignore[index]
    return SendRequest(
        type=type_,  # type: ignore[arg-type]
        content_json=_canonical_json(content),
        context=checked.get("context"),
        tmp_send_id=checked.get("tmpSendId"),
    )
