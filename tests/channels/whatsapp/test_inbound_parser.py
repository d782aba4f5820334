"""The webhook parser on our fixtures (one file per event kind) and on every webhook example in
Meta's OpenAPI description."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inboxd.channels.whatsapp.inbound_parser import MalformedWebhook, parse_webhook
from tests.support.meta import webhook_examples

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((FIXTURES / f"{name}.json").read_text())


def only_message(name: str):  # type: ignore[no-untyped-def]
    parsed = parse_webhook(fixture(name))
    assert len(parsed.messages) == 1 and not parsed.statuses
    return parsed.messages[0]


def test_text() -> None:
    m = only_message("text")
    assert (m.type, m.content) == ("text", {"text": "Does it come in another color?"})
    assert (m.contact_id, m.profile_name, m.phone_number_id) == ("16505551234", "Sheena Nelson", "106540352242922")
    assert m.timestamp_ms == 1749416383000 and m.external_id == "wamid.FIXTURE1" and m.context_id is None


def test_reply_keeps_context() -> None:
    assert only_message("text_reply").context_id == "wamid.ORIGINAL"


@pytest.mark.parametrize(
    ("name", "media_type", "item"),
    [
        ("image", "image", {"mediaType": "image", "caption": "My order", "contentType": "image/jpeg"}),
        ("video", "video", {"mediaType": "video", "caption": "Look", "contentType": "video/mp4"}),
        ("audio", "audio", {"mediaType": "audio", "contentType": "audio/ogg", "metadata": {"voice": True}}),
        ("document", "document",
         {"mediaType": "document", "caption": "Invoice", "filename": "invoice.pdf", "contentType": "application/pdf"}),
        ("sticker", "sticker", {"mediaType": "sticker", "contentType": "image/webp", "metadata": {"animated": False}}),
    ],
)
def test_media(name: str, media_type: str, item: dict) -> None:  # type: ignore[type-arg]
    m = only_message(name)
    assert m.type == "media" and m.content == {"media": [item]}
    assert m.media is not None and m.media.media_type == media_type and m.media.media_id.startswith("10033834")


def test_location() -> None:
    m = only_message("location")
    assert m.type == "location"
    assert m.content["location"]["latitude"] == 37.483307 and m.content["location"]["name"] == "Meta HQ"


def test_contacts() -> None:
    m = only_message("contacts")
    assert m.type == "contacts" and m.content["contacts"][0]["name"]["formatted_name"] == "Barbara J. Johnson"


@pytest.mark.parametrize(
    ("name", "postback", "context"),
    [
        ("interactive_button_reply", {"payload": "change-button", "title": "Change"}, "wamid.BUTTONS"),
        ("interactive_list_reply",
         {"payload": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"},
         "wamid.LIST"),
        ("button", {"payload": "Unsubscribe", "title": "Unsubscribe"}, "wamid.TEMPLATE"),
    ],
)
def test_replies_become_postbacks(name: str, postback: dict, context: str) -> None:  # type: ignore[type-arg]
    m = only_message(name)
    assert (m.type, m.content, m.context_id) == ("postback", {"postback": postback}, context)


def test_reaction_is_special_and_points_at_its_target() -> None:
    m = only_message("reaction")
    assert m.type == "special" and m.content["special"]["type"] == "reaction"
    assert m.reaction_to == "wamid.TARGET"


@pytest.mark.parametrize("name", ["unsupported", "system"])
def test_unknown_kinds_are_kept_raw_as_special(name: str) -> None:
    m = only_message(name)
    assert m.type == "special" and m.content["special"]["payload"]["id"] == m.external_id


def test_statuses() -> None:
    for name, code in (("status_sent", 1), ("status_delivered", 2), ("status_read", 3)):
        parsed = parse_webhook(fixture(name))
        assert [(s.external_id, s.status) for s in parsed.statuses] == [("wamid.OUT1", code)]
        assert parsed.statuses[0].error is None
    failed = parse_webhook(fixture("status_failed")).statuses[0]
    assert failed.status == 4 and failed.error is not None and failed.error["code"] == 131049
    assert failed.timestamp_ms == 1751142888000


def test_value_level_errors() -> None:
    parsed = parse_webhook(fixture("value_error"))
    assert parsed.errors[0]["code"] == 130429 and not parsed.messages


@pytest.mark.parametrize("payload", [None, [], {"entry": "x"}, {"entry": [{"changes": [{"field": "messages",
                                     "value": {"messages": [{"id": "x", "from": "1"}]}}]}]}])
def test_malformed(payload) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MalformedWebhook):
        parse_webhook(payload)


EXAMPLES = webhook_examples()
EXPECTED_TYPES = {
    "Text Message": "text",
    "Text Message with Context (Product Inquiry)": "text",
    "Text Message from Click to WhatsApp Ad": "text",
    "Reaction Message": "special",
    "Image Message": "media",
    "Location Message": "location",
    "Contact Sharing Message": "contacts",
    "Unsupported Message": "special",
    "Button Message": "postback",
    "Interactive List Reply Message": "postback",
    "Interactive Button Reply Message": "postback",
    "Order Message": "special",
    "System Message": "special",
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_meta_webhook_example_parses(name: str) -> None:
    parsed = parse_webhook(EXAMPLES[name])
    if name in EXPECTED_TYPES:
        assert [m.type for m in parsed.messages] == [EXPECTED_TYPES[name]]
        m = parsed.messages[0]
        assert m.external_id.startswith("wamid.") and m.timestamp_ms > 1_600_000_000_000
    else:  # group webhooks: another field, kept for whoever handles it
        assert parsed.other and not parsed.messages


def test_meta_examples_cover_every_kind_we_expect() -> None:
    assert set(EXPECTED_TYPES) <= set(EXAMPLES)
