"""Texter content → Cloud API payloads (inboxd.channels.whatsapp.outbound), checked against
Meta's `Message` schema with the simulator's validator (which merges Meta's allOf branches)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from inboxd.channels.whatsapp.outbound import cloud_payloads
from inboxd.domain import limits as L
from inboxd.domain.content import parse_send_request
from inboxd.simulator.schema import validate_message
from tests.domain.test_content import REFERENCE_EXAMPLES, valid_bodies
from tests.support import meta

WA_ID = "16505551234"
WAMID = "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"
FILE_ID = "6900c1eac29d42708adac92f"


def payloads_for(body: dict[str, Any], *, media_ids: list[str] | None = None) -> list[dict[str, Any]]:
    request = parse_send_request(body)
    ids = media_ids if media_ids is not None else [f"10{i}" for i in range(len(request.content.get("media", [])))]
    out = cloud_payloads(request.type, request.content, to=WA_ID, context=request.context, media_ids=ids)
    for payload in out:
        assert validate_message(payload) is None, (payload, validate_message(payload))
    return out


def envelope(wa_type: str, body: Any, **more: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": wa_type,
        wa_type: body,
        **more,
    }


# ----------------------------------------------------------------------------- each type


def test_text() -> None:
    assert payloads_for({"type": "text", "text": "Hey there!"}) == [
        envelope("text", {"body": "Hey there!", "preview_url": False})
    ]


@pytest.mark.parametrize(
    ("text", "preview"),
    [
        ("Order: https://example.com/o/123", True),
        ("see HTTP://EXAMPLE.COM", True),
        ("http://x", True),
        ("www.example.com has no scheme", False),
        ("ftp://example.com is not previewed", False),
        ("https:// alone is not a link", False),
    ],
)
def test_preview_url_only_when_the_text_has_an_http_link(text: str, preview: bool) -> None:
    (payload,) = payloads_for({"type": "text", "text": text})
    assert payload["text"]["preview_url"] is preview


def test_buttons_become_reply_buttons_with_the_payload_as_id() -> None:
    body, _ = REFERENCE_EXAMPLES["buttons"]
    assert payloads_for(body) == [
        envelope(
            "interactive",
            {
                "type": "button",
                "body": {"text": "Pick one"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "get_session_messages", "title": "Get my text messages"}},
                        {"type": "reply", "reply": {"id": "random_image", "title": "Send random image"}},
                    ]
                },
            },
        )
    ]


def test_list_rows_have_the_payload_as_id() -> None:
    body, _ = REFERENCE_EXAMPLES["list"]
    body["list"]["sections"][0]["rows"][0]["description"] = "All of them"
    (payload,) = payloads_for(body)
    assert payload == envelope(
        "interactive",
        {
            "type": "list",
            "body": {"text": "Please select an option below."},
            "action": {
                "button": "Menu",
                "sections": [
                    {
                        "title": "Something from this bot",
                        "rows": [
                            {
                                "id": "get_session_messages",
                                "title": "Get my text messages",
                                "description": "All of them",
                            },
                            {"id": "random_image", "title": "Send random image"},
                        ],
                    },
                    {
                        "title": "Return back",
                        "rows": [
                            {"id": "back_to_texter_bot", "title": "Back to texter bot"},
                            {"id": "resolve", "title": "Resolve chat"},
                        ],
                    },
                ],
            },
        },
    )


def test_a_single_section_may_go_without_title() -> None:
    body = {
        "type": "list",
        "text": "x",
        "list": {"button": "Menu", "sections": [{"rows": [{"title": "A", "payload": "a"}]}]},
    }
    (payload,) = payloads_for(body)
    assert payload["interactive"]["action"]["sections"] == [{"rows": [{"id": "a", "title": "A"}]}]


def test_contacts_go_as_they_are() -> None:
    card = {
        "name": {"formatted_name": "Barbara J. Johnson", "first_name": "Barbara", "last_name": "Johnson"},
        "phones": [{"phone": "+16505551234", "type": "WORK", "wa_id": "16505551234"}],
        "emails": [{"email": "b@example.com", "type": "WORK"}],
        "addresses": [
            {"street": "1 Hacker Way", "city": "Menlo Park", "zip": "94025", "country_code": "US", "type": "WORK"}
        ],
        "org": {"company": "Lucky Shrub", "title": "Manager"},
        "urls": [{"url": "https://example.com", "type": "HOME"}],
        "birthday": "1990-01-01",
    }
    assert payloads_for({"type": "contacts", "contacts": [card, {"name": {"formatted_name": "B"}}]}) == [
        envelope("contacts", [card, {"name": {"formatted_name": "B"}}])
    ]


def test_location_coordinates_are_decimal_strings() -> None:
    body = {
        "type": "location",
        "location": {"latitude": 37.44216251868683, "longitude": -122, "name": "Philz", "address": "101 Forest Ave"},
    }
    assert payloads_for(body) == [
        envelope(
            "location",
            {"latitude": "37.44216251868683", "longitude": "-122.0", "name": "Philz", "address": "101 Forest Ave"},
        )
    ]
    (tiny,) = payloads_for({"type": "location", "location": {"latitude": 1e-05, "longitude": -2.5e-7}})
    assert tiny["location"] == {"latitude": "0.00001", "longitude": "-0.00000025"}


def test_location_coordinates_have_the_type_metas_schema_gives_them() -> None:
    # The simulator accepts numbers too (Meta's own examples send them); what Meta's schema
    # states is what we send.
    declared = next(
        b for b in meta.schema("LocationMessage")["allOf"] if "properties" in b and "location" in b["properties"]
    )
    coordinates = declared["properties"]["location"]["properties"]
    (payload,) = payloads_for({"type": "location", "location": {"latitude": 1, "longitude": 2}})
    python_type = {"string": str, "number": float}
    for axis in ("latitude", "longitude"):
        assert isinstance(payload["location"][axis], python_type[coordinates[axis]["type"]])


def test_media_by_uploaded_id_one_payload_per_item_in_order() -> None:
    body = {
        "type": "media",
        "media": [
            {"mediaType": "image", "url": "https://example.com/a.jpg", "caption": "A", "filename": "a.jpg"},
            {"mediaType": "video", "fileId": FILE_ID, "caption": "B"},
            {"mediaType": "audio", "fileId": FILE_ID, "filename": "voice.ogg"},
            {"mediaType": "document", "fileId": FILE_ID, "caption": "Invoice", "filename": "invoice.pdf"},
            {"mediaType": "document", "fileId": FILE_ID},
        ],
    }
    assert payloads_for(body, media_ids=["m1", "m2", "m3", "m4", "m5"]) == [
        envelope("image", {"id": "m1", "caption": "A"}),
        envelope("video", {"id": "m2", "caption": "B"}),
        envelope("audio", {"id": "m3"}),
        envelope("document", {"id": "m4", "caption": "Invoice", "filename": "invoice.pdf"}),
        envelope("document", {"id": "m5"}),
    ]


def test_media_needs_one_media_id_per_item() -> None:
    request = parse_send_request({"type": "media", "media": [{"mediaType": "image", "fileId": FILE_ID}] * 2})
    with pytest.raises(ValueError, match="2 media items but 1 media ids"):
        cloud_payloads(request.type, request.content, to=WA_ID, media_ids=["m1"])


def test_only_sendable_types() -> None:
    with pytest.raises(ValueError, match="postback"):
        cloud_payloads("postback", {"postback": {"payload": "x"}}, to=WA_ID)


def test_a_reply_quotes_the_message_on_every_payload() -> None:
    text = payloads_for({"type": "text", "text": "Hi", "context": WAMID})
    images = payloads_for({"type": "media", "context": WAMID, "media": [{"mediaType": "image", "fileId": FILE_ID}] * 2})
    for payload in [*text, *images]:
        assert payload["context"] == {"message_id": WAMID}
    assert "context" not in payloads_for({"type": "text", "text": "Hi"})[0]


def test_the_content_passed_in_is_not_changed() -> None:
    request = parse_send_request({"type": "contacts", "contacts": [{"name": {"formatted_name": "B"}}]})
    content = request.content
    (payload,) = cloud_payloads(request.type, content, to=WA_ID)
    payload["contacts"][0]["name"]["formatted_name"] = "changed"
    assert content == request.content


# ----------------------------------------------------------------------------- against Meta's schema


def test_the_validator_used_here_refuses_what_meta_refuses() -> None:
    # Without this, a validator that accepted everything would make the tests above vacuous.
    (good,) = payloads_for({"type": "buttons", "text": "x", "buttons": [{"title": "A", "payload": "a"}]})
    assert validate_message(good) is None
    too_long = {
        **good,
        "interactive": {
            **good["interactive"],
            "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "x" * 21}}]},
        },
    }
    assert validate_message(too_long) is not None
    assert validate_message({**good, "unknown": 1}) is not None
    assert validate_message({k: v for k, v in good.items() if k != "to"}) is not None


MAXIMAL_BODIES = {
    "text": {"type": "text", "text": "x" * int(L.TEXT.max or 0)},
    "buttons": {
        "type": "buttons",
        "text": "b" * int(L.INTERACTIVE_BODY.max or 0),
        "buttons": [
            {"title": str(i) * int(L.BUTTON_TITLE.max or 0), "payload": str(i) * int(L.BUTTON_PAYLOAD.max or 0)}
            for i in range(int(L.BUTTONS.max or 0))
        ],
    },
    "list": {
        "type": "list",
        "text": "b" * int(L.INTERACTIVE_BODY.max or 0),
        "list": {
            "button": "m" * int(L.LIST_BUTTON.max or 0),
            "sections": [
                {
                    "title": f"{i}" * int(L.SECTION_TITLE.max or 0),
                    "rows": [
                        {
                            "title": "t" * int(L.ROW_TITLE.max or 0),
                            "payload": f"{i:0{int(L.ROW_PAYLOAD.max or 0)}d}",
                            "description": "d" * int(L.ROW_DESCRIPTION.max or 0),
                        }
                    ],
                }
                for i in range(int(L.SECTIONS.max or 0))
            ],
        },
    },
    "contacts": {"type": "contacts", "contacts": [{"name": {"formatted_name": "N"}}] * int(L.CONTACTS.max or 0)},
    "media": {
        "type": "media",
        "media": [{"mediaType": "video", "fileId": FILE_ID, "caption": "c" * int(L.CAPTION.max or 0)}]
        * int(L.MEDIA_ITEMS.max or 0),
    },
    "location": {
        "type": "location",
        "location": {
            "latitude": L.LATITUDE.min,
            "longitude": L.LONGITUDE.max,
            "name": "n" * int(L.LOCATION_NAME.max or 0),
            "address": "a" * int(L.LOCATION_ADDRESS.max or 0),
        },
    },
}


@pytest.mark.parametrize("kind", MAXIMAL_BODIES)
def test_a_request_at_every_maximum_of_ours_is_still_valid_for_meta(kind: str) -> None:
    payloads = payloads_for(MAXIMAL_BODIES[kind])
    assert len(payloads) == (int(L.MEDIA_ITEMS.max or 0) if kind == "media" else 1)


@settings(max_examples=300, deadline=None)
@given(valid_bodies())
def test_every_valid_request_maps_to_payloads_metas_schema_accepts(body: dict[str, Any]) -> None:
    payloads = payloads_for(body)  # validates each payload
    request = parse_send_request(body)
    assert len(payloads) == len(request.message_contents())
    expected_type = {
        "text": "text",
        "buttons": "interactive",
        "list": "interactive",
        "contacts": "contacts",
        "location": "location",
    }
    for payload, item in zip(payloads, request.content.get("media", [None] * len(payloads)), strict=True):
        assert payload["type"] == (item["mediaType"] if item else expected_type[request.type])
        assert payload["to"] == WA_ID
        assert ("context" in payload) == (request.context is not None)
