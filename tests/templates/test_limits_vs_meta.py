"""Template limits (inboxd.templates.limits) against Meta's OpenAPI description, read here on
its own (tests/support/meta.py), and each bound enforced exactly at its edge."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from inboxd.domain.limits import Bounds
from inboxd.templates import components as C
from inboxd.templates import limits as L
from inboxd.templates.media import TEMPLATE_DOCUMENT_TYPE
from inboxd.templates.requests import parse_values
from inboxd.templates.validation import Problems
from tests.support import meta
from tests.templates.test_components import CREATE_PATHS

SCHEMAS = meta.document()["components"]["schemas"]
BOUND_KEYWORDS = {"maxLength", "minLength", "maxItems", "minItems", "maximum", "minimum"}


def _merged_properties(name: str) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for branch in SCHEMAS[name].get("allOf", [SCHEMAS[name]]):
        if "$ref" in branch:
            props.update(_merged_properties(branch["$ref"].rsplit("/", 1)[1]))
        props.update(branch.get("properties", {}))
    return props


def test_text_parameter_length_is_metas() -> None:
    stated = _merged_properties("TextParameter")["text"]["maxLength"]
    assert L.parameter_text() == Bounds(1, stated, "meta")


def test_the_send_payload_uses_metas_button_sub_types() -> None:
    sub_types = _merged_properties("ButtonComponent")["sub_type"]["enum"]
    assert {"quick_reply", "url"} <= set(sub_types)


def test_document_headers_are_pdf_as_meta_says() -> None:
    description = _merged_properties("DocumentParameter")["document"]["description"]
    assert "Only PDF documents" in description and TEMPLATE_DOCUMENT_TYPE == "application/pdf"


def _bounds_in(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in BOUND_KEYWORDS:
                yield path, key
            elif key not in ("example", "examples"):
                yield from _bounds_in(value, f"{path}.{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _bounds_in(item, path)


@pytest.mark.parametrize("path", CREATE_PATHS)
def test_meta_states_no_template_creation_limits(path: str) -> None:
    """Our `meta-docs` bounds (header 60, body 1024, footer 60, button text 25, …) come from
    Meta's template pages because the file describes template creation by example only. If Meta
    ever states a bound there, this fails: take it from the file then."""
    schema = meta.document()["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert list(_bounds_in(schema)) == []
    assert {b.source for b in _component_bounds()} <= {"meta-docs", "texter", "meta"}


def _component_bounds() -> list[Bounds]:
    return [L.HEADER_TEXT, L.BODY_TEXT, L.FOOTER_TEXT, L.BUTTON_TEXT, L.BUTTON_URL, L.BUTTON_PHONE_NUMBER,
            L.QUICK_REPLY_BUTTONS, L.CALL_TO_ACTION_BUTTONS, L.PHONE_NUMBER_BUTTONS, L.TEMPLATE_NAME]


# ----------------------------------------------------------------------------- each bound at its edge


def _max(bounds: Bounds) -> int:
    assert bounds.max is not None
    return int(bounds.max)


def _body(text: str) -> list[dict[str, Any]]:
    return [{"type": "BODY", "text": text}]


def _quick_replies(n: int) -> list[dict[str, Any]]:
    return [*_body("b"), {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": f"b{i}"} for i in range(n)]}]


def _urls(n: int) -> list[dict[str, Any]]:
    return [*_body("b"), {"type": "BUTTONS", "buttons": [
        {"type": "URL", "text": f"b{i}", "url": f"https://x.example/{i}"} for i in range(n)]}]


EDGES = {
    "header text": (L.HEADER_TEXT, lambda n: [{"type": "HEADER", "format": "TEXT", "text": "h" * n}, *_body("b")]),
    "body text": (L.BODY_TEXT, lambda n: _body("b" * n)),
    "footer text": (L.FOOTER_TEXT, lambda n: [*_body("b"), {"type": "FOOTER", "text": "f" * n}]),
    "button text": (L.BUTTON_TEXT, lambda n: [*_body("b"), {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "t" * n}]}]),
    "button url": (L.BUTTON_URL, lambda n: [*_body("b"), {"type": "BUTTONS", "buttons": [
        {"type": "URL", "text": "t", "url": "https://x.example/" + "u" * (n - len("https://x.example/"))}]}]),
    "quick replies": (L.QUICK_REPLY_BUTTONS, _quick_replies),
    "call-to-action buttons": (L.CALL_TO_ACTION_BUTTONS, _urls),
}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_component_bounds_at_the_edge(name: str) -> None:
    bounds, build = EDGES[name]
    ok, bad = Problems(), Problems()
    assert C.check_components(build(_max(bounds)), "c", ok) is not None, ok.items
    assert C.check_components(build(_max(bounds) + 1), "c", bad) is None


def test_value_length_at_the_edge() -> None:
    longest = _max(L.parameter_text())
    ok, bad = Problems(), Problems()
    parse_values({"body": ["v" * longest]}, "body", ok)
    parse_values({"body": ["v" * (longest + 1)]}, "body", bad)
    assert ok.items == [] and [p["path"] for p in bad.items] == ["body.body[0]"]
