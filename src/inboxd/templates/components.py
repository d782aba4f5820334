"""A localization's components (Texter §7.4, in Meta's own shape) and their variables: checking
a draft, counting and filling `{{1}}…{{n}}`, and checking the values a send fills them with.

Pure: no I/O. Limits come from `templates.limits`.

Rules (the reference's, plus Meta's where the reference is silent):
- `components`: 1 to 4 objects, at most one each of HEADER, BODY, FOOTER, BUTTONS; a BODY is
  required (Meta has no template without one). `type`, `format` and button `type` may be given
  in any case; they are stored in upper case, in the order HEADER, BODY, FOOTER, BUTTONS.
- HEADER: `format` TEXT (`text`, at most one variable `{{1}}`), IMAGE / VIDEO / DOCUMENT (an
  `example.header_handle` from Meta's upload API, which Meta's review needs), or LOCATION.
- BODY: `text` with positional variables `{{1}}`, `{{2}}`, … numbered from 1 without gaps (Meta
  refuses gaps; Texter's `body` values are positional, so named variables are refused).
- FOOTER: `text`, no variables.
- BUTTONS: up to 3 QUICK_REPLY, or up to 2 call-to-action (URL, PHONE_NUMBER, FLOW), not mixed;
  button texts unique; a URL may end in one variable `{{1}}`; at most one PHONE_NUMBER.
- A variable needs a sample for Meta's review (`example.header_text`, `example.body_text`, a URL
  button's `example`); when the draft's send defaults give the values, they are used as the
  sample, so the client need not write them twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from inboxd.domain.errors import Problems
from inboxd.templates import limits as L
from inboxd.templates.validation import obj, text

COMPONENT_ORDER = ("HEADER", "BODY", "FOOTER", "BUTTONS")
HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
MEDIA_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")
QUICK_REPLY = "QUICK_REPLY"
CALL_TO_ACTION = ("URL", "PHONE_NUMBER", "FLOW")
FLOW_ACTIONS = ("navigate", "data_exchange")

# Lowercase language, optionally `_` and a region or script: en, he, en_US, pt_BR, zh_Hant.
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]{2,4})?$")
_VARIABLE = re.compile(r"\{\{(.*?)\}\}")
_HTTP_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9]{5,19}$")
_SPACES = re.compile(f" {{{L.MAX_CONSECUTIVE_SPACES + 1},}}")

_KEYS = {
    "HEADER": ("type", "format", "text", "example"),
    "BODY": ("type", "text", "example"),
    "FOOTER": ("type", "text"),
    "BUTTONS": ("type", "buttons"),
}
_BUTTON_KEYS = {
    "QUICK_REPLY": ("type", "text"),
    "URL": ("type", "text", "url", "example"),
    "PHONE_NUMBER": ("type", "text", "phone_number"),
    "FLOW": ("type", "text", "flow_id", "flow_name", "flow_json", "flow_action", "navigate_screen"),
}


# ----------------------------------------------------------------------------- variables


def variable_numbers(value: str) -> list[str]:
    """The insides of every `{{…}}` in `value`, in order (`"1"`, `" 2 "`, `"name"`)."""
    return _VARIABLE.findall(value)


def variable_count(value: str) -> int:
    """How many positional variables a (checked) text has: the highest `{{n}}`."""
    return max((int(v) for v in variable_numbers(value) if v.isdigit()), default=0)


def _check_variables(value: str, path: str, problems: Problems, *, most: int | None = None) -> int:
    """Check that `value`'s variables are `{{1}}…{{n}}` without gaps; returns n."""
    inside = variable_numbers(value)
    bad = [v for v in inside if not (v.isdigit() and int(v) >= 1 and v == str(int(v)))]
    if bad:
        problems.add(path, f"variables must be positional, written {{{{1}}}}, {{{{2}}}}, …; found {{{{{bad[0]}}}}}")
        return 0
    numbers = sorted({int(v) for v in inside})
    if numbers != list(range(1, len(numbers) + 1)):
        problems.add(path, f"variables must be numbered from {{{{1}}}} without gaps; found {numbers}")
        return 0
    if most is not None and len(numbers) > most:
        problems.add(path, f"may have at most {most} variable{'s' if most != 1 else ''}; found {len(numbers)}")
        return 0
    return len(numbers)


def render(value: str, values: Sequence[str]) -> str:
    """`value` with each `{{n}}` replaced by `values[n-1]`."""
    return _VARIABLE.sub(lambda m: values[int(m.group(1)) - 1], value)


def value_problem(value: Any) -> str | None:
    """Why `value` cannot fill a variable (None when it can)."""
    bounds = L.parameter_text()
    if not isinstance(value, str):
        return "must be a string"
    if not value.strip():
        return "must not be empty"
    if len(value) not in bounds:
        return f"must be at most {int(bounds.max or 0)} characters long (got {len(value)})"
    if "\n" in value or "\r" in value or "\t" in value:
        return "must not contain line breaks or tabs (WhatsApp refuses them in template values)"
    if _SPACES.search(value):
        return f"must not contain more than {L.MAX_CONSECUTIVE_SPACES} consecutive spaces"
    return None


# ----------------------------------------------------------------------------- a localization


def check_components(value: Any, path: str, problems: Problems) -> list[dict[str, Any]] | None:
    """The components of a draft, normalized (upper-case types, canonical order); None when
    there are problems (each reported)."""
    if not isinstance(value, list) or not value:
        problems.add(path, "must be a non-empty array of components (HEADER, BODY, FOOTER, BUTTONS)")
        return None
    before = len(problems.items)
    by_type: dict[str, dict[str, Any]] = {}
    for i, component in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(component, dict):
            problems.add(where, "must be an object")
            continue
        kind = component.get("type")
        kind = kind.upper() if isinstance(kind, str) else None
        if kind not in COMPONENT_ORDER:
            problems.add(f"{where}.type", f"must be one of {', '.join(COMPONENT_ORDER)}")
            continue
        if kind in by_type:
            problems.add(f"{where}.type", f"a localization has at most one {kind} component")
            continue
        checked = _CHECKS[kind](component, where, problems)
        if checked is not None:
            by_type[kind] = checked
    if "BODY" not in by_type and len(problems.items) == before:
        problems.add(path, "must include a BODY component")
    if len(problems.items) != before:
        return None
    return [by_type[kind] for kind in COMPONENT_ORDER if kind in by_type]


def _header(component: dict[str, Any], path: str, problems: Problems) -> dict[str, Any] | None:
    obj(component, path, problems, _KEYS["HEADER"])
    fmt = component.get("format")
    fmt = fmt.upper() if isinstance(fmt, str) else None
    if fmt not in HEADER_FORMATS:
        problems.add(f"{path}.format", f"must be one of {', '.join(HEADER_FORMATS)}")
        return None
    out: dict[str, Any] = {"type": "HEADER", "format": fmt}
    example = component.get("example")
    if fmt == "TEXT":
        value = text(component.get("text"), f"{path}.text", problems, L.HEADER_TEXT)
        if value is None:
            return None
        out["text"] = value
        count = _check_variables(value, f"{path}.text", problems, most=int(L.HEADER_VARIABLES.max or 0))
        if count and example is not None:
            sample = _example_list(example, "header_text", f"{path}.example", problems, count)
            if sample is not None:
                out["example"] = {"header_text": sample}
        elif example is not None and not count:
            problems.add(f"{path}.example", "is only for a header with a variable")
        return out
    if "text" in component:
        problems.add(f"{path}.text", f"a {fmt} header has no text")
    if fmt in MEDIA_FORMATS:
        handles = _example_list(example, "header_handle", f"{path}.example", problems, 1)
        if handles is None:
            return None
        out["example"] = {"header_handle": handles}
    elif example is not None:
        problems.add(f"{path}.example", "a LOCATION header has no example")
    return out


def _example_list(example: Any, key: str, path: str, problems: Problems, count: int) -> list[str] | None:
    """`example[key]` as a list of `count` non-empty strings."""
    if not isinstance(example, dict) or not isinstance(example.get(key), list):
        problems.add(path, f"must be {{\"{key}\": [{count} value{'s' if count != 1 else ''}]}}")
        return None
    values = example[key]
    bounds = L.HEADER_HANDLE if key == "header_handle" else L.parameter_text()
    if len(values) != count or not all(isinstance(v, str) and len(v) in bounds and v.strip() for v in values):
        problems.add(f"{path}.{key}", f"must hold {count} non-empty string{'s' if count != 1 else ''}")
        return None
    return list(values)


def _body(component: dict[str, Any], path: str, problems: Problems) -> dict[str, Any] | None:
    obj(component, path, problems, _KEYS["BODY"])
    value = text(component.get("text"), f"{path}.text", problems, L.BODY_TEXT)
    if value is None:
        return None
    out: dict[str, Any] = {"type": "BODY", "text": value}
    count = _check_variables(value, f"{path}.text", problems)
    example = component.get("example")
    if example is not None and not count:
        problems.add(f"{path}.example", "is only for a body with variables")
    elif example is not None:
        rows = example.get("body_text") if isinstance(example, dict) else None
        if not (isinstance(rows, list) and len(rows) == 1 and isinstance(rows[0], list)):
            problems.add(f"{path}.example", f"must be {{\"body_text\": [[{count} values]]}}")
            return None
        sample = _example_list({"body_text": rows[0]}, "body_text", f"{path}.example", problems, count)
        if sample is None:
            return None
        out["example"] = {"body_text": [sample]}
    return out


def _footer(component: dict[str, Any], path: str, problems: Problems) -> dict[str, Any] | None:
    obj(component, path, problems, _KEYS["FOOTER"])
    value = text(component.get("text"), f"{path}.text", problems, L.FOOTER_TEXT)
    if value is None:
        return None
    if variable_numbers(value):
        problems.add(f"{path}.text", "a footer has no variables")
        return None
    return {"type": "FOOTER", "text": value}


def _buttons(component: dict[str, Any], path: str, problems: Problems) -> dict[str, Any] | None:
    obj(component, path, problems, _KEYS["BUTTONS"])
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not buttons:
        problems.add(f"{path}.buttons", "must be a non-empty array of buttons")
        return None
    before = len(problems.items)
    out = [_button(b, f"{path}.buttons[{i}]", problems) for i, b in enumerate(buttons)]
    if len(problems.items) != before:
        return None
    kinds = [b["type"] for b in out if b is not None]
    if QUICK_REPLY in kinds and any(k in CALL_TO_ACTION for k in kinds):
        problems.add(f"{path}.buttons", "QUICK_REPLY and call-to-action buttons (URL, PHONE_NUMBER, FLOW) cannot be mixed")
    elif QUICK_REPLY in kinds and len(kinds) not in L.QUICK_REPLY_BUTTONS:
        problems.add(f"{path}.buttons", f"at most {int(L.QUICK_REPLY_BUTTONS.max or 0)} QUICK_REPLY buttons")
    elif QUICK_REPLY not in kinds and len(kinds) not in L.CALL_TO_ACTION_BUTTONS:
        problems.add(f"{path}.buttons", f"at most {int(L.CALL_TO_ACTION_BUTTONS.max or 0)} call-to-action buttons")
    if kinds.count("PHONE_NUMBER") not in L.PHONE_NUMBER_BUTTONS:
        problems.add(f"{path}.buttons", "at most one PHONE_NUMBER button")
    texts = [b["text"] for b in out if b is not None]
    for i, label in enumerate(texts):
        if label in texts[:i]:
            problems.add(f"{path}.buttons[{i}].text", f"duplicates another button's text {label!r}")
    if len(problems.items) != before:
        return None
    return {"type": "BUTTONS", "buttons": out}


def _button(button: Any, path: str, problems: Problems) -> dict[str, Any] | None:
    if not isinstance(button, dict):
        problems.add(path, "must be an object")
        return None
    kind = button.get("type")
    kind = kind.upper() if isinstance(kind, str) else None
    if kind not in _BUTTON_KEYS:
        problems.add(f"{path}.type", f"must be one of {', '.join(_BUTTON_KEYS)}")
        return None
    obj(button, path, problems, _BUTTON_KEYS[kind])
    label = text(button.get("text"), f"{path}.text", problems, L.BUTTON_TEXT)
    if label is not None and variable_numbers(label):
        problems.add(f"{path}.text", "a button's text has no variables")
    out: dict[str, Any] = {"type": kind, "text": label}
    if kind == "URL":
        url = text(button.get("url"), f"{path}.url", problems, L.BUTTON_URL, pattern=_HTTP_URL,
                   pattern_reason="must be an http(s) URL")
        if url is None:
            return None
        out["url"] = url
        count = _check_variables(url, f"{path}.url", problems, most=int(L.URL_VARIABLES.max or 0))
        if count and not url.endswith("{{1}}"):
            problems.add(f"{path}.url", "the variable {{1}} must be at the end of the URL")
        example = button.get("example")
        if example is not None and not count:
            problems.add(f"{path}.example", "is only for a URL with a variable")
        elif example is not None:
            # Meta's form is a one-item list: the full example URL in its guides, the variable's
            # example value alone in its OpenAPI examples. Texter shows {"url": "…"}. All accepted.
            sample = example.get("url") if isinstance(example, dict) else example
            sample = [sample] if isinstance(sample, str) else sample
            if not (isinstance(sample, list) and len(sample) == 1 and isinstance(sample[0], str)
                    and sample[0].strip() and len(sample[0]) in L.BUTTON_URL):
                problems.add(f"{path}.example", "must be [\"<an example URL, or the variable's example value>\"]")
            else:
                out["example"] = sample
    elif kind == "PHONE_NUMBER":
        phone = text(button.get("phone_number"), f"{path}.phone_number", problems, L.BUTTON_PHONE_NUMBER,
                     pattern=_PHONE, pattern_reason="must be a phone number with its country code, e.g. +15550051310")
        if phone is not None:
            out["phone_number"] = phone
    elif kind == "FLOW":
        sources = [k for k in ("flow_id", "flow_name", "flow_json") if button.get(k) is not None]
        if len(sources) != 1:
            problems.add(path, "a FLOW button needs exactly one of flow_id, flow_name, flow_json")
        for key in ("flow_id", "flow_name", "navigate_screen", "flow_json"):
            if button.get(key) is not None:
                bounds = L.FLOW_JSON if key == "flow_json" else L.FLOW_FIELD
                if text(button[key], f"{path}.{key}", problems, bounds) is not None:
                    out[key] = button[key]
        if button.get("flow_action") is not None:
            if button["flow_action"] not in FLOW_ACTIONS:
                problems.add(f"{path}.flow_action", f"must be one of {', '.join(FLOW_ACTIONS)}")
            else:
                out["flow_action"] = button["flow_action"]
    return out if label is not None else None


_CHECKS = {"HEADER": _header, "BODY": _body, "FOOTER": _footer, "BUTTONS": _buttons}


# ----------------------------------------------------------------------------- reading components


def component(components: Sequence[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((c for c in components if str(c.get("type", "")).upper() == kind), None)


def header_format(components: Sequence[dict[str, Any]]) -> str | None:
    header = component(components, "HEADER")
    return str(header.get("format") or "TEXT").upper() if header else None


def body_variables(components: Sequence[dict[str, Any]]) -> int:
    body = component(components, "BODY")
    return variable_count(str(body.get("text") or "")) if body else 0


def header_variables(components: Sequence[dict[str, Any]]) -> int:
    header = component(components, "HEADER")
    if not header or header_format(components) != "TEXT":
        return 0
    return variable_count(str(header.get("text") or ""))


def buttons(components: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    found = component(components, "BUTTONS")
    return list(found.get("buttons") or []) if found else []


def url_has_variable(button: dict[str, Any]) -> bool:
    return str(button.get("type", "")).upper() == "URL" and variable_count(str(button.get("url") or "")) > 0


def fill_examples(components: list[dict[str, Any]], defaults: dict[str, Any]) -> None:
    """Use the send defaults as the review samples Meta needs where the draft gives none."""
    body = component(components, "BODY")
    if body is not None and "example" not in body and defaults.get("body") and variable_count(body["text"]):
        body["example"] = {"body_text": [list(defaults["body"])]}
    header = component(components, "HEADER")
    if (header is not None and header.get("format") == "TEXT" and "example" not in header
            and header_variables(components) and (defaults.get("header") or {}).get("text")):
        header["example"] = {"header_text": [defaults["header"]["text"]]}
    for i, button in enumerate(buttons(components)):
        value = _default_button_value(defaults, i)
        if url_has_variable(button) and "example" not in button and value:
            button["example"] = [render(button["url"], [value])]


def _default_button_value(defaults: dict[str, Any], index: int) -> str | None:
    for item in defaults.get("buttons") or []:
        if item.get("index") == index:
            return item.get("text")
    return None


def missing_examples(components: Sequence[dict[str, Any]], path: str, problems: Problems) -> None:
    """Each variable needs a sample for Meta's review: report those still without one."""
    body = component(components, "BODY")
    if body is not None and variable_count(body["text"]) and "example" not in body:
        problems.add(path, "the BODY has variables: give example.body_text or defaults.body (Meta's review needs samples)")
    header = component(components, "HEADER")
    if header is not None and header_variables(components) and "example" not in header:
        problems.add(path, "the HEADER has a variable: give example.header_text or defaults.header.text")
    for i, button in enumerate(buttons(components)):
        if url_has_variable(button) and "example" not in button:
            problems.add(path, f"URL button {i} has a variable: give its example or a default in defaults.buttons")
