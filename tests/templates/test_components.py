"""A localization's components (inboxd.templates.components): every rule, Meta's own template
examples, variables and values."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inboxd.templates import components as C
from inboxd.templates.validation import Problems
from tests.support import meta

CREATE_PATHS = ("/{Version}/{WABA-ID}/message_templates", "/{Version}/{TEMPLATE_ID}")


def meta_template_examples() -> dict[str, dict[str, Any]]:
    """The template-creation request examples of Meta's OpenAPI file (create and edit)."""
    found = {}
    for path in CREATE_PATHS:
        examples = meta.document()["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"]
        found.update({name: ex["value"] for name, ex in examples.items()})
    return found


# Meta examples of kinds Texter's templates do not have: authentication (OTP buttons, bodies
# without text) and multi-product (MPM) buttons. Each must be refused naming the field.
UNSUPPORTED = {
    "Create authentication template w/ OTP copy code button": "components[0].add_security_recommendation",
    "Create authentication template w/ OTP one-tap autofill button": "components[0].add_security_recommendation",
    "Create catalog template": "components[0].add_security_recommendation",
    "Create multi-product message template": "components[2].buttons[0].type",
}


def check(components: Any) -> tuple[list[dict[str, Any]] | None, list[dict[str, str]]]:
    problems = Problems()
    return C.check_components(components, "components", problems), problems.items


@pytest.mark.parametrize("name", sorted(set(meta_template_examples()) - set(UNSUPPORTED)))
def test_metas_examples_are_accepted(name: str) -> None:
    given_components = meta_template_examples()[name]["components"]
    out, problems = check(copy.deepcopy(given_components))
    assert problems == [] and out is not None
    # Normalized to upper-case types; nothing else changes.
    by_type = {c["type"].upper(): {**c, "type": c["type"].upper()} for c in given_components}
    for component in out:
        expected = by_type[component["type"]]
        if "format" in expected:
            expected["format"] = expected["format"].upper()
        assert component == expected


@pytest.mark.parametrize(("name", "path"), sorted(UNSUPPORTED.items()))
def test_metas_examples_of_unsupported_kinds_are_refused_by_field(name: str, path: str) -> None:
    out, problems = check(meta_template_examples()[name]["components"])
    assert out is None and path in {p["path"] for p in problems}


def test_canonical_order_and_case() -> None:
    out, problems = check([
        {"type": "buttons", "buttons": [{"type": "quick_reply", "text": "Yes"}]},
        {"type": "footer", "text": "f"},
        {"type": "body", "text": "b"},
        {"type": "header", "format": "text", "text": "h"},
    ])
    assert problems == []
    assert out == [
        {"type": "HEADER", "format": "TEXT", "text": "h"},
        {"type": "BODY", "text": "b"},
        {"type": "FOOTER", "text": "f"},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Yes"}]},
    ]


BODY = {"type": "BODY", "text": "Hello"}


@pytest.mark.parametrize(
    ("components", "path", "reason"),
    [
        ([], "components", "non-empty array"),
        ("BODY", "components", "non-empty array"),
        ([{"type": "FOOTER", "text": "f"}], "components", "must include a BODY"),
        ([BODY, BODY], "components[1].type", "at most one BODY"),
        ([{"type": "CAROUSEL"}], "components[0].type", "must be one of"),
        ([BODY, 3], "components[1]", "must be an object"),
        ([{"type": "BODY", "text": ""}], "components[0].text", "1 to 1024"),
        ([{"type": "BODY", "text": "x", "extra": 1}], "components[0].extra", "unknown field"),
        ([{"type": "BODY", "text": "Hi {{name}}"}], "components[0].text", "positional"),
        ([{"type": "BODY", "text": "Hi {{01}}"}], "components[0].text", "positional"),
        ([{"type": "BODY", "text": "Hi {{1}} {{3}}", "example": {"body_text": [["a", "b"]]}}], "components[0].text", "without gaps"),
        ([{"type": "BODY", "text": "Hi {{1}}", "example": {"body_text": [["a", "b"]]}}], "components[0].example.body_text", "1 non-empty"),
        ([{"type": "BODY", "text": "Hi {{1}}", "example": {"body_text": ["a"]}}], "components[0].example", "body_text"),
        ([{"type": "BODY", "text": "Hi", "example": {"body_text": [["a"]]}}], "components[0].example", "only for a body with variables"),
        ([{"type": "HEADER", "format": "GIF"}, BODY], "components[0].format", "must be one of"),
        ([{"type": "HEADER", "format": "TEXT", "text": "a {{1}} {{2}}"}, BODY], "components[0].text", "at most 1 variable"),
        ([{"type": "HEADER", "format": "TEXT", "text": "x" * 61}, BODY], "components[0].text", "1 to 60"),
        ([{"type": "HEADER", "format": "TEXT", "text": "a", "example": {"header_text": ["x"]}}, BODY], "components[0].example", "only for a header with a variable"),
        ([{"type": "HEADER", "format": "IMAGE"}, BODY], "components[0].example", "header_handle"),
        ([{"type": "HEADER", "format": "IMAGE", "text": "t", "example": {"header_handle": ["h"]}}, BODY], "components[0].text", "no text"),
        ([{"type": "HEADER", "format": "LOCATION", "example": {"header_handle": ["h"]}}, BODY], "components[0].example", "no example"),
        ([BODY, {"type": "FOOTER", "text": "Hi {{1}}"}], "components[1].text", "no variables"),
        ([BODY, {"type": "FOOTER", "text": "x" * 61}], "components[1].text", "1 to 60"),
        ([BODY, {"type": "BUTTONS", "buttons": []}], "components[1].buttons", "non-empty"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "OTP", "text": "x"}]}], "components[1].buttons[0].type", "must be one of"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x" * 26}]}], "components[1].buttons[0].text", "1 to 25"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "{{1}}"}]}], "components[1].buttons[0].text", "no variables"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": t} for t in "abcd"]}], "components[1].buttons", "at most 3 QUICK_REPLY"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "a"}, {"type": "QUICK_REPLY", "text": "a"}]}], "components[1].buttons[1].text", "duplicates"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "a"}, {"type": "PHONE_NUMBER", "text": "b", "phone_number": "+15550051310"}]}], "components[1].buttons", "cannot be mixed"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "URL", "text": t, "url": "https://x.example"} for t in "abc"]}], "components[1].buttons", "at most 2 call-to-action"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "PHONE_NUMBER", "text": t, "phone_number": "+15550051310"} for t in "ab"]}], "components[1].buttons", "one PHONE_NUMBER"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "PHONE_NUMBER", "text": "a", "phone_number": "call me"}]}], "components[1].buttons[0].phone_number", "country code"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "a", "url": "ftp://x.example"}]}], "components[1].buttons[0].url", "http(s) URL"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "a", "url": "https://x.example/{{1}}/x", "example": ["1"]}]}], "components[1].buttons[0].url", "at the end"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "a", "url": "https://x.example/{{1}}{{2}}"}]}], "components[1].buttons[0].url", "at most 1 variable"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "a", "url": "https://x.example/", "example": ["x"]}]}], "components[1].buttons[0].example", "only for a URL with a variable"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "FLOW", "text": "a"}]}], "components[1].buttons[0]", "exactly one of flow_id"),
        ([BODY, {"type": "BUTTONS", "buttons": [{"type": "FLOW", "text": "a", "flow_id": "1", "flow_action": "jump"}]}], "components[1].buttons[0].flow_action", "must be one of"),
    ],
)
def test_rules(components: Any, path: str, reason: str) -> None:
    out, problems = check(components)
    assert out is None
    assert any(p["path"] == path and reason in p["reason"] for p in problems), problems


def test_url_button_examples_in_metas_and_texters_forms() -> None:
    for example in (["https://x.example/track/1"], ["1"], {"url": "https://x.example/track/1"}, "1"):
        out, problems = check([BODY, {"type": "BUTTONS", "buttons": [
            {"type": "URL", "text": "Track", "url": "https://x.example/track/{{1}}", "example": example}]}])
        assert problems == [], example
        assert out is not None and isinstance(out[1]["buttons"][0]["example"], list)


def test_examples_come_from_defaults_when_missing() -> None:
    components = [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
        {"type": "BODY", "text": "Hi {{1}} and {{2}}"},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Go", "url": "https://x.example/{{1}}"}]},
    ]
    problems = Problems()
    C.missing_examples(components, "components", problems)
    assert len(problems.items) == 3
    C.fill_examples(components, {"body": ["a", "b"], "header": {"text": "15"}, "buttons": [{"index": 0, "text": "t"}]})
    assert components[0]["example"] == {"header_text": ["15"]}
    assert components[1]["example"] == {"body_text": [["a", "b"]]}
    assert components[2]["buttons"][0]["example"] == ["https://x.example/t"]
    problems = Problems()
    C.missing_examples(components, "components", problems)
    assert problems.items == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("a\nb", "line breaks"),
        ("a\r\nb", "line breaks"),
        ("a\tb", "tabs"),
        ("a     b", "more than 4 consecutive spaces"),
        ("", "empty"),
        ("   ", "empty"),
        (3, "string"),
        ("x" * 32769, "at most 32768"),
    ],
)
def test_values_that_cannot_fill_a_variable(value: Any, reason: str) -> None:
    problem = C.value_problem(value)
    assert problem is not None and reason in problem


def test_values_that_can() -> None:
    for value in ("Dana", "a    b", "שלום 👋", "x" * 32768, " padded "):
        assert C.value_problem(value) is None


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="{}\n"), min_size=1, max_size=8), min_size=1, max_size=6))
def test_render_fills_each_variable_once(values: list[str]) -> None:
    template = " / ".join(f"{{{{{i}}}}}" for i in range(1, len(values) + 1))
    assert C.variable_count(template) == len(values)
    assert C.render(template, values) == " / ".join(values)
