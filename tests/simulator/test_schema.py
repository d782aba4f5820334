"""Send bodies against Meta's `Message` schema (loaded from the OpenAPI file) and the rules the
schema cannot express."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from inboxd.simulator.rules import check_message
from inboxd.simulator.schema import Problem, message_kind, validate_message
from tests.simulator.examples import message_examples
from tests.support.meta import send_examples


def check(body: dict[str, Any]) -> Problem | None:
    return validate_message(body) or check_message(body, message_kind(body))


def buttons(*titles: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+16505551234",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Need to reschedule?"},
            "action": {
                "buttons": [{"type": "reply", "reply": {"id": f"b{i}", "title": t}} for i, t in enumerate(titles)]
            },
        },
    }


def list_message(*section_sizes: int, titles: bool = True) -> dict[str, Any]:
    sections = []
    for s, size in enumerate(section_sizes):
        section: dict[str, Any] = {"rows": [{"id": f"s{s}r{r}", "title": f"Row {s}.{r}"} for r in range(size)]}
        if titles:
            section["title"] = f"Section {s}"
        sections.append(section)
    return {
        "messaging_product": "whatsapp",
        "to": "+16505551234",
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Which shipping option?"},
            "action": {"button": "Options", "sections": sections},
        },
    }


# --- Done when: each of these is refused with the field named ---------------------------------


def test_button_title_of_21_characters_names_the_title() -> None:
    assert check(buttons("x" * 21)) == Problem(
        "interactive.action.buttons[0].reply.title", "must be at most 20 characters long (got 21)"
    )
    assert check(buttons("x" * 20)) is None


def test_four_reply_buttons_names_the_buttons() -> None:
    problem = check(buttons("a", "b", "c", "d"))
    assert problem is not None and problem.field == "interactive.action.buttons"
    assert "at most 3" in problem.reason


@pytest.mark.parametrize("sizes", [(11,), (6, 5), (1, 1, 1, 1, 1, 1, 1, 1, 1, 2)])
def test_list_with_11_rows_in_total_names_the_rows(sizes: tuple[int, ...]) -> None:
    problem = check(list_message(*sizes))
    assert problem is not None
    assert problem.field in ("interactive.action.sections", "interactive.action.sections[0].rows")
    assert "at most 10" in problem.reason
    assert check(list_message(5, 5)) is None


def test_interactive_body_of_1025_characters_names_the_body() -> None:
    body = buttons("Yes")
    body["interactive"]["body"]["text"] = "x" * 1025
    assert check(body) == Problem("interactive.body.text", "must be at most 1024 characters long (got 1025)")
    body["interactive"]["body"]["text"] = "x" * 1024
    assert check(body) is None


def test_message_without_to_names_to() -> None:
    body = buttons("Yes")
    del body["to"]
    assert check(body) == Problem("to", "is required")


# --- Meta's own examples ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(message_examples()))
def test_every_send_example_in_metas_file_conforms(name: str) -> None:
    assert check(message_examples()[name]) is None


def test_the_examples_come_from_the_file() -> None:
    assert len(send_examples()) >= 40  # they are loaded, not retyped


# --- rules beyond the schema -------------------------------------------------------------------


def test_section_title_required_when_there_are_several_sections() -> None:
    assert check(list_message(2, 2, titles=False)) == Problem(
        "interactive.action.sections[0].title", "is required when there is more than one section"
    )
    assert check(list_message(3, titles=False)) is None


def test_button_titles_and_ids_are_unique() -> None:
    problem = check(buttons("Same", "Same"))
    assert problem is not None and problem.field == "interactive.action.buttons[1].reply.title"
    body = buttons("A", "B")
    body["interactive"]["action"]["buttons"][1]["reply"]["id"] = "b0"
    problem = check(body)
    assert problem is not None and problem.field == "interactive.action.buttons[1].reply.id"


def test_list_row_ids_are_unique_across_sections() -> None:
    body = list_message(1, 1)
    body["interactive"]["action"]["sections"][1]["rows"][0]["id"] = "s0r0"
    problem = check(body)
    assert problem is not None and problem.field == "interactive.action.sections[1].rows[0].id"


def test_unknown_top_level_field_is_named() -> None:
    body = buttons("Yes")
    body["colour"] = "red"
    assert check(body) == Problem("colour", "is not a known parameter here")


def test_media_needs_exactly_one_of_id_and_link() -> None:
    body = {"messaging_product": "whatsapp", "to": "16505551234", "type": "image", "image": {"id": "1", "link": "https://x"}}
    problem = check(body)
    assert problem == Problem("image", "must have exactly one of id, link")
    body["image"] = {"caption": "no source"}
    assert check(body) == Problem("image", "must have one of id, link")


def test_text_limits() -> None:
    body = {"messaging_product": "whatsapp", "to": "16505551234", "type": "text", "text": {"body": "x" * 4097}}
    assert check(body) == Problem("text.body", "must be at most 4096 characters long (got 4097)")
    body["text"] = {}
    assert check(body) == Problem("text.body", "is required")


def test_caption_and_callback_data_limits() -> None:
    body = {"messaging_product": "whatsapp", "to": "16505551234", "type": "image",
            "image": {"id": "1", "caption": "c" * 1025}}
    assert check(body) == Problem("image.caption", "must be at most 1024 characters long (got 1025)")
    body["image"]["caption"] = "ok"
    body["biz_opaque_callback_data"] = "x" * 513
    problem = check(body)
    assert problem is not None and problem.field == "biz_opaque_callback_data"


def test_wrong_type_and_unknown_message_type() -> None:
    body = {"messaging_product": "whatsapp", "to": "16505551234", "type": "text", "text": {"body": 5}}
    assert check(body) == Problem("text.body", "must be of type string")
    body = {"messaging_product": "whatsapp", "to": "16505551234", "type": "hologram"}
    problem = check(body)
    assert problem is not None and problem.field == "type"


def test_recipient_must_be_a_phone_number_and_product_whatsapp() -> None:
    body = {"messaging_product": "whatsapp", "to": "not a number", "type": "text", "text": {"body": "x"}}
    problem = check(body)
    assert problem is not None and problem.field == "to"
    body = {"messaging_product": "sms", "to": "+1 (650) 555-1234", "type": "text", "text": {"body": "x"}}
    problem = check(body)
    assert problem is not None and problem.field == "messaging_product"


def test_reaction_needs_a_target_and_no_context() -> None:
    body = {"messaging_product": "whatsapp", "to": "16505551234", "type": "reaction", "reaction": {"emoji": "👍"}}
    assert check(body) == Problem("reaction.message_id", "is required")
    body["reaction"]["message_id"] = "wamid.X"
    body["context"] = {"message_id": "wamid.Y"}
    problem = check(body)
    assert problem is not None and problem.field == "context"


def test_list_header_must_be_text() -> None:
    body = list_message(2)
    body["interactive"]["header"] = {"type": "image", "image": {"link": "https://example.com/a.png"}}
    problem = check(body)
    assert problem is not None and problem.field == "interactive.header.type"


def test_validation_does_not_mutate_or_choke_on_odd_bodies() -> None:
    for body in ([], "text", 5, None, {"type": 5}, {"type": "text", "text": []}):
        assert validate_message(copy.deepcopy(body)) is not None
