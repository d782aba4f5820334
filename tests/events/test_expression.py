"""The filter expression language: filtrex's semantics for what Texter's templates use, and no
way out of it (no Python evaluation, no attribute access, no unbounded work)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxd.events.expression import MISSING, ExpressionError, evaluate, matches, parse

MESSAGE = {
    "direction": "incoming",
    "type": "media",
    "text": "help",
    "status": 2,
    "media": [{"mediaType": "image", "fileId": "6900c1eac29d42708adac92f"}],
    "agent": {"uid": None},
    "labels": ["vip", "new"],
    "externalBot": False,
    "empty": [],
}


def check(source: str, data: Any = MESSAGE) -> bool:
    return matches(parse(source), data)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('direction == "incoming"', True),
        ('direction == "outgoing"', False),
        ('direction != "outgoing"', True),
        ('direction == "incoming" and type == "media"', True),
        ('text == "stop" or text == "help"', True),
        ('text == "Help"', False),  # exact, case-sensitive
        ('not (text == "help")', False),
        ("exists(agent)", True),
        ("exists(agent.uid)", False),  # null
        ("not exists(agent.uid)", True),
        ("exists(nothing.here)", False),
        ("exists(externalBot) and externalBot", False),
        ("externalBot == false", True),
        ('inArray(labels, "vip")', True),
        ('inArray(labels, "gold")', False),
        ('inArray(text, "h")', False),  # not an array
        ('media.0.mediaType == "image"', True),
        ("exists(media.5)", False),
        ("status == 2 and status >= 2 and status < 3 and status != 4", True),
        ('status == "2"', False),  # no coercion
        ("status == 2.0", True),
        ("externalBot == 0", False),
        ("empty", True),  # as in JavaScript, an empty array is true
        ("text", True),
        ("nothing", False),
        ('"a" < "b"', True),
        ('status < "3"', False),  # mixed types are not ordered
        ("true and not false", True),
        ("(((status == 2)))", True),
        ('text == "he\\"lp"', False),
        ('text == "\\u0068elp"', True),
    ],
)
def test_semantics(source: str, expected: bool) -> None:
    assert check(source) is expected


def test_not_binds_tighter_than_comparison_as_in_filtrex() -> None:
    # `not status == 2` is `(not status) == 2`, i.e. false == 2
    assert check("not status == 2") is False
    assert check("not (status == 3)") is True


def test_and_binds_tighter_than_or() -> None:
    assert check('text == "help" or text == "x" and status == 9') is True
    assert check('(text == "help" or text == "x") and status == 9') is False


def test_names_are_keys_of_the_data_only() -> None:
    assert evaluate(parse("nothing"), MESSAGE) is MISSING
    assert evaluate(parse("text.length"), MESSAGE) is MISSING  # no properties of values
    assert evaluate(parse("labels.length"), MESSAGE) is MISSING


@pytest.mark.parametrize(
    "source",
    [
        "__class__",
        "text.__class__",
        "text.__class__.__mro__",
        "__builtins__",
        "__import__",
        "media.0.__class__.__subclasses__",
        "agent.__dict__",
        "constructor.prototype",
    ],
)
def test_dunder_names_reach_nothing(source: str) -> None:
    """A name is a lookup in the event's JSON; Python attributes are not keys of it."""
    assert evaluate(parse(source), MESSAGE) is MISSING
    assert check(f"exists({source})") is False


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ('__import__("os")', "unknown function '__import__'"),
        ('__import__("os").system("true")', "unexpected character '.'"),
        ("eval(text)", "unknown function 'eval'"),
        ("getattr(text, 1)", "unknown function 'getattr'"),
        ("text.upper()", "unknown function 'text.upper'"),
        ('"abc".upper()', "unexpected character '.'"),
        ("exists()", "exists() takes 1 argument"),
        ("inArray(labels)", "inArray() takes 2 arguments"),
        ("2 ** 99999999", "unexpected character '*'"),
        ("9 ^ 999999999", "unexpected character '^'"),
        ("10 ^ 10 ^ 10 ^ 10", "unexpected character '^'"),
        ("1e999999", "out of range"),
        ("1" * 40, "too long"),
        ("status + 1 == 3", "unexpected character '+'"),
        ("lambda: 1", "unexpected character ':'"),
        ("[x for x in labels]", "unexpected character '['"),
        ("text == 'help'", "double quotes"),
        ('text == "help"; import os', "unexpected character ';'"),
        ("text ==", "found the end of the expression"),
        ('text "help"', "expected an operator"),
        ("(text", "expected ')'"),
        ("", "empty"),
        ("and", "expected a value"),
        ('"\\x41"', "unknown escape"),
    ],
)
def test_invalid_expressions_are_refused(source: str, error: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    assert error in str(caught.value)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("(" * 10_000 + "1" + ")" * 10_000, "longer than 2000"),
        ("(" * 150 + "1" + ")" * 150, "nested more than 32"),
        ("a or " * 300 + "a", "more than 400 tokens"),
        ("(" * 100 + "1" + ")" * 100, "nested more than 32"),
        ("not " * 100 + "text", "nested more than 32"),
        ("exists(" * 50 + "text" + ")" * 50, "nested more than 32"),
        (" or ".join(["text"] * 1000), "longer than 2000"),
        ("a" * 3000, "longer than 2000"),
    ],
)
def test_size_and_depth_are_bounded(source: str, error: str) -> None:
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    assert error in str(caught.value)
    assert time.monotonic() - started < 0.5


def test_the_largest_expressions_evaluate_fast() -> None:
    node = parse(" or ".join(['inArray(labels, "x")'] * 50))
    data = {"labels": ["y"] * 10_000}
    started = time.monotonic()
    assert matches(node, data) is False
    assert time.monotonic() - started < 1.0


def test_not_a_string_is_refused() -> None:
    with pytest.raises(ExpressionError):
        parse(42)  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "text", "0"]), inner, max_size=3),
    max_leaves=10,
)
alphabet = st.sampled_from(list('abtx_.()", =!<>0123456789') + ["and ", "or ", "not ", "exists(", "inArray(", "__"])


@settings(max_examples=400, deadline=None)
@given(source=st.lists(alphabet, max_size=30).map("".join), data=json_values)
def test_any_input_parses_or_is_refused_and_never_crashes(source: str, data: Any) -> None:
    try:
        node = parse(source)
    except ExpressionError:
        return
    matches(node, data)  # whatever the data, evaluation does not raise
