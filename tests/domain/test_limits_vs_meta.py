"""Our send limits (inboxd.domain.limits) against the limits Meta's OpenAPI description states.

Meta's numbers are found by walking its schemas (through $ref, allOf/oneOf/anyOf), never copied
here: if Meta changes a bound, or moves it, the test says which of ours disagrees.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from inboxd.domain import limits as L
from tests.support import meta

SCHEMAS = meta.document()["components"]["schemas"]
ITEMS = "[]"  # a path step into an array's items


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMAS[node["$ref"].rsplit("/", 1)[1]]
    return node


def _alternatives(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The node and every schema it is combined from (allOf/oneOf/anyOf, recursively)."""
    node = _resolve(node)
    yield node
    for key in ("allOf", "oneOf", "anyOf"):
        for branch in node.get(key, []):
            yield from _alternatives(branch)


def _walk(node: dict[str, Any], path: list[str]) -> Iterator[dict[str, Any]]:
    """Every schema reached from `node` by `path` (property names, or ITEMS), across all
    combinations: `["buttons", ITEMS, "reply", "title"]` from ActionObject."""
    if not path:
        yield _resolve(node)
        return
    step, rest = path[0], path[1:]
    for alternative in _alternatives(node):
        if step == ITEMS:
            if "items" in alternative:
                yield from _walk(alternative["items"], rest)
        elif step in alternative.get("properties", {}):
            yield from _walk(alternative["properties"][step], rest)


def stated(schema_name: str, path: list[str], keyword: str) -> list[Any]:
    """The values Meta states for `keyword` at `path` in `schema_name` (one per place it appears)."""
    found = list(_walk(SCHEMAS[schema_name], path))
    assert found, f"{schema_name} has no {'.'.join(path)} any more: update this test"
    return [schema[keyword] for schema in found if keyword in schema]


def stated_anywhere(property_name: str, keyword: str, *, beside: set[str]) -> list[Any]:
    """`keyword` of every property `property_name` in any component schema whose object also
    has the properties in `beside` (e.g. a media object's caption beside its id or link)."""
    values = []
    for name in SCHEMAS:
        for alternative in _alternatives(SCHEMAS[name]):
            props = alternative.get("properties", {})
            if property_name in props and beside & set(props) and keyword in _resolve(props[property_name]):
                values.append(_resolve(props[property_name])[keyword])
    return values


# (our bound, "min"|"max", Meta schema, path, keyword)
CASES = [
    (L.INTERACTIVE_BODY, "max", "BodyObject", ["text"], "maxLength"),
    (L.BUTTONS, "min", "ActionObject", ["buttons"], "minItems"),
    (L.BUTTONS, "max", "ActionObject", ["buttons"], "maxItems"),
    (L.BUTTON_TITLE, "max", "ActionObject", ["buttons", ITEMS, "reply", "title"], "maxLength"),
    (L.BUTTON_PAYLOAD, "max", "ActionObject", ["buttons", ITEMS, "reply", "id"], "maxLength"),
    (L.LIST_BUTTON, "max", "ActionObject", ["button"], "maxLength"),
    (L.SECTIONS, "min", "ActionObject", ["sections"], "minItems"),
    (L.SECTIONS, "max", "ActionObject", ["sections"], "maxItems"),
    (L.SECTION_TITLE, "max", "SectionObject", ["title"], "maxLength"),
    # Meta caps rows per section; our total is the tighter rule and must not exceed it.
    (L.ROWS_TOTAL, "max", "SectionObject", ["rows"], "maxItems"),
    (L.ROW_PAYLOAD, "max", "SectionObject", ["rows", ITEMS, "id"], "maxLength"),
    (L.ROW_TITLE, "max", "SectionObject", ["rows", ITEMS, "title"], "maxLength"),
    (L.ROW_DESCRIPTION, "max", "SectionObject", ["rows", ITEMS, "description"], "maxLength"),
    (L.CONTACTS, "min", "ContactsMessage", ["contacts"], "minItems"),
    (L.CONTACTS, "max", "ContactsMessage", ["contacts"], "maxItems"),
]


@pytest.mark.parametrize(
    ("ours", "end", "schema_name", "path", "keyword"),
    CASES,
    ids=[f"{c[2]}.{'.'.join(c[3])}.{c[4]}" for c in CASES],
)
def test_limit_equals_what_meta_states(
    ours: L.Bounds, end: str, schema_name: str, path: list[str], keyword: str
) -> None:
    values = stated(schema_name, path, keyword)
    assert values, f"Meta no longer states {keyword} at {schema_name}.{'.'.join(path)}"
    assert ours.source == "meta"
    assert set(values) == {getattr(ours, end)}, f"Meta: {values}, ours: {getattr(ours, end)}"


def test_text_body_max_equals_every_text_object_of_meta_that_states_one() -> None:
    # TextMessage.text states no maxLength in v23.0; another text object of the file does.
    values = stated("TextMessage", ["text", "body"], "maxLength") + stated_anywhere(
        "body", "maxLength", beside={"preview_url"}
    )
    assert values, "Meta states no text body length any more: mark TEXT as ours"
    assert set(values) == {L.TEXT.max}


def test_caption_max_equals_every_media_object_of_meta_that_states_one() -> None:
    values = stated_anywhere("caption", "maxLength", beside={"id", "link"})
    assert values, "Meta states no caption length any more: mark CAPTION as ours"
    assert set(values) == {L.CAPTION.max}


def test_the_walker_finds_what_it_is_asked_for() -> None:
    # Guards the helpers above: a walker that found nothing would make every case vacuous.
    assert len(list(_walk(SCHEMAS["ActionObject"], ["sections"]))) >= 1
    assert list(_walk(SCHEMAS["ActionObject"], ["no_such_property"])) == []
    assert stated("SectionObject", ["rows", ITEMS, "id"], "maxLength")


def test_every_bound_is_well_formed_and_sourced() -> None:
    for name, value in vars(L).items():
        if isinstance(value, L.Bounds):
            assert value.source in {"meta", "meta-docs", "texter", "inboxd"}, name
            if value.min is not None and value.max is not None:
                assert value.min <= value.max, name
