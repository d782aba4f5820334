"""Validation of the Send a Message to Chat body (inboxd.domain.content)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxd.domain import limits as L
from inboxd.domain.content import SendRequest, parse_send_request
from inboxd.domain.errors import MAX_DETAILS, InvalidRequest

FILE_ID = "6900c1eac29d42708adac92f"
WAMID = "wamid.HBgMOTcyNTI3NzYwOTg5FQIAERgSRDI2RjUwMkFFQTNEQjE0MEVBAA=="


def problems(body: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as info:
        parse_send_request(body)
    assert info.value.status == 400 and info.value.code == "invalid_request"
    return [(d["path"], d["reason"]) for d in info.value.details]


def paths(body: Any) -> list[str]:
    return sorted(path for path, _ in problems(body))


def text(value: str = "Hey there!", **more: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **more}


def buttons(*pairs: tuple[str, str], body: str = "Pick one") -> dict[str, Any]:
    return {"type": "buttons", "text": body, "buttons": [{"title": t, "payload": p} for t, p in pairs]}


def list_message(*sections: dict[str, Any], button: str = "Menu", body: str = "Choose") -> dict[str, Any]:
    return {"type": "list", "text": body, "list": {"button": button, "sections": list(sections)}}


def section(*rows: tuple[str, str], title: str | None = "Section") -> dict[str, Any]:
    out: dict[str, Any] = {"rows": [{"title": t, "payload": p} for t, p in rows]}
    if title is not None:
        out["title"] = title
    return out


def media(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "media", "media": list(items)}


def image(**more: Any) -> dict[str, Any]:
    return {"mediaType": "image", "url": "https://example.com/pic.jpg", **more}


def location(**fields: Any) -> dict[str, Any]:
    return {"type": "location", "location": {"latitude": 37.44, "longitude": -122.16, **fields}}


def contacts(*cards: dict[str, Any]) -> dict[str, Any]:
    return {"type": "contacts", "contacts": list(cards) or [{"name": {"formatted_name": "Barbara J. Johnson"}}]}


# ----------------------------------------------------------------------------- the reference's examples

REFERENCE_EXAMPLES = {
    "text": ({"type": "text", "text": "Hey there!"}, {"text": "Hey there!"}),
    "media": (
        {"type": "media", "media": [{"mediaType": "image", "url": "https://example.com/pic.jpg"}]},
        {"media": [{"mediaType": "image", "url": "https://example.com/pic.jpg"}]},
    ),
    "buttons": (
        {
            "type": "buttons",
            "text": "Pick one",
            "buttons": [
                {"title": "Get my text messages", "payload": "get_session_messages"},
                {"title": "Send random image", "payload": "random_image"},
            ],
        },
        {
            "text": "Pick one",
            "buttons": [
                {"title": "Get my text messages", "payload": "get_session_messages"},
                {"title": "Send random image", "payload": "random_image"},
            ],
        },
    ),
    "list": (
        {
            "type": "list",
            "text": "Please select an option below.",
            "list": {
                "button": "Menu",
                "sections": [
                    {
                        "title": "Something from this bot",
                        "rows": [
                            {"title": "Get my text messages", "payload": "get_session_messages"},
                            {"title": "Send random image", "payload": "random_image"},
                        ],
                    },
                    {
                        "title": "Return back",
                        "rows": [
                            {"title": "Back to texter bot", "payload": "back_to_texter_bot"},
                            {"title": "Resolve chat", "payload": "resolve"},
                        ],
                    },
                ],
            },
        },
        None,  # the content is the body without `type`
    ),
}


@pytest.mark.parametrize("name", REFERENCE_EXAMPLES)
def test_every_example_of_the_reference_is_valid_and_stored_as_sent(name: str) -> None:
    body, expected = REFERENCE_EXAMPLES[name]
    request = parse_send_request(copy.deepcopy(body))
    assert request.type == name
    assert request.content == (expected or {k: v for k, v in body.items() if k != "type"})
    assert (request.context, request.tmp_send_id) == (None, None)


def test_a_reply_carries_context_and_tmp_send_id_outside_the_content() -> None:
    request = parse_send_request(text(context=WAMID, tmpSendId="client-42"))
    assert request.content == {"text": "Hey there!"}
    assert (request.context, request.tmp_send_id) == (WAMID, "client-42")


# ----------------------------------------------------------------------------- the shapes per type


def test_media_item_by_file_id_with_caption_and_filename() -> None:
    item = {"mediaType": "document", "fileId": FILE_ID, "caption": "Invoice", "filename": "invoice.pdf"}
    assert parse_send_request(media(item)).content == {"media": [item]}


def test_each_media_item_is_its_own_message_in_order() -> None:
    items = [image(caption=str(i)) for i in range(3)]
    request = parse_send_request(media(*items))
    assert request.message_contents() == [{"media": [item]} for item in items]
    assert parse_send_request(text()).message_contents() == [{"text": "Hey there!"}]


def test_location_is_nested_and_coordinates_are_stored_as_floats() -> None:
    request = parse_send_request(location(name="Philz Coffee", address="101 Forest Ave"))
    assert request.content == {
        "location": {"latitude": 37.44, "longitude": -122.16, "name": "Philz Coffee", "address": "101 Forest Ave"}
    }
    whole = parse_send_request({"type": "location", "location": {"latitude": 37, "longitude": 0}})
    assert whole.content == {"location": {"latitude": 37.0, "longitude": 0.0}}
    assert isinstance(whole.content["location"]["latitude"], float)


def test_flat_location_fields_are_refused_with_a_hint() -> None:
    body = {"type": "location", "latitude": 1, "longitude": 2}
    assert problems(body) == [
        ("body.latitude", "is not a known field: put latitude inside location"),
        ("body.longitude", "is not a known field: put longitude inside location"),
        ("body.location", "is required"),
    ]


def test_a_full_contact_card_in_whatsapps_shape() -> None:
    card = {
        "name": {"formatted_name": "Barbara J. Johnson", "first_name": "Barbara", "last_name": "Johnson"},
        "phones": [{"phone": "+16505551234", "type": "WORK", "wa_id": "16505551234"}],
        "emails": [{"email": "b@example.com", "type": "WORK"}],
        "addresses": [
            {
                "street": "1 Hacker Way",
                "city": "Menlo Park",
                "state": "CA",
                "zip": "94025",
                "country": "United States",
                "country_code": "US",
                "type": "WORK",
            }
        ],
        "org": {"company": "Lucky Shrub", "department": "Sales", "title": "Manager"},
        "urls": [{"url": "https://example.com", "type": "WORK"}],
        "birthday": "1990-01-01",
    }
    assert parse_send_request(contacts(card)).content == {"contacts": [card]}


def test_contact_card_problems() -> None:
    card = {
        "name": {"first_name": "B", "nickname": "Bee"},
        "phones": [{"type": "CELL"}],
        "emails": [{"email": "not-an-address"}],
        "birthday": "1990-02-30",
        "photo": "x",
    }
    assert problems(contacts(card)) == [
        (
            "body.contacts[0].name.nickname",
            "is not a known field (known: formatted_name, first_name, last_name, middle_name, prefix, suffix)",
        ),
        ("body.contacts[0].name.formatted_name", "is required"),
        ("body.contacts[0].phones[0].type", "must be one of: HOME, WORK"),
        ("body.contacts[0].phones[0].phone", "is required"),
        ("body.contacts[0].emails[0].email", "must be an e-mail address"),
        ("body.contacts[0].birthday", "must be a date as YYYY-MM-DD"),
        (
            "body.contacts[0].photo",
            "is not a known field (known: name, phones, emails, urls, addresses, org, birthday)",
        ),
    ]


def test_null_and_empty_optional_fields_are_left_out() -> None:
    body = media(image(caption=None, filename=""))
    body.update(context=None, tmpSendId=None)
    request = parse_send_request(body)
    assert request.content == {"media": [image()]}
    assert (request.context, request.tmp_send_id) == (None, None)
    row = {"title": "A", "payload": "a", "description": ""}
    content = parse_send_request(list_message({"title": None, "rows": [row]})).content
    assert content["list"]["sections"] == [{"rows": [{"title": "A", "payload": "a"}]}]


# ----------------------------------------------------------------------------- type errors and fields


def test_body_must_be_an_object() -> None:
    for body in ([], "text", 3, None):
        assert problems(body) == [("body", "must be a JSON object")]


@pytest.mark.parametrize("value", [None, "sticker", "postback", "TEXT", 1, ["text"]])
def test_type_must_be_one_of_the_sendable_types(value: Any) -> None:
    assert problems({"type": value, "text": "x"}) == [
        ("body.type", "must be one of: text, media, buttons, list, contacts, location")
    ]


def test_missing_type_is_reported_and_the_rest_still_checked() -> None:
    assert problems({"text": "x", "tmpSendId": 7, "bogus": True}) == [
        ("body.tmpSendId", "must be a string"),
        ("body.bogus", "is not a known field"),
        ("body.type", "is required"),
    ]


@pytest.mark.parametrize(
    ("body", "field", "owners"),
    [
        (text(media=[image()]), "media", "media"),
        (text(buttons=[]), "buttons", "buttons"),
        (media(image()) | {"text": "caption?"}, "text", "text, buttons, list"),
        (location() | {"contacts": []}, "contacts", "contacts"),
        (buttons(("A", "a")) | {"list": {}}, "list", "list"),
    ],
)
def test_a_field_of_another_type_is_named_as_such(body: dict[str, Any], field: str, owners: str) -> None:
    assert problems(body) == [
        (f"body.{field}", f"is not allowed for type {body['type']!r} (it belongs to type {owners})")
    ]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"type": "text"}, "body.text"),
        ({"type": "media"}, "body.media"),
        ({"type": "buttons", "text": "x"}, "body.buttons"),
        ({"type": "buttons", "buttons": [{"title": "A", "payload": "a"}]}, "body.text"),
        ({"type": "list", "text": "x"}, "body.list"),
        ({"type": "contacts"}, "body.contacts"),
        ({"type": "location"}, "body.location"),
        (location() | {"location": {"latitude": 1}}, "body.location.longitude"),
        (media({"url": "https://example.com/a.jpg"}), "body.media[0].mediaType"),
        (list_message({"title": "S"}), "body.list.sections[0].rows"),
    ],
)
def test_a_missing_field_is_required(body: dict[str, Any], path: str) -> None:
    assert problems(body) == [(path, "is required")]


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        (text(5), "body.text", "must be a string"),
        (text(context=["wamid"]), "body.context", "must be a string"),
        (media(), "body.media", "must have at least 1 item"),
        ({"type": "media", "media": {"mediaType": "image"}}, "body.media", "must be an array"),
        (media("pic.jpg"), "body.media[0]", "must be an object"),
        (
            media({"mediaType": "sticker", "fileId": FILE_ID}),
            "body.media[0].mediaType",
            "must be one of: image, video, audio, document",
        ),
        (location() | {"location": {"latitude": "37.4", "longitude": 1}}, "body.location.latitude", "must be a number"),
        (location() | {"location": {"latitude": True, "longitude": 1}}, "body.location.latitude", "must be a number"),
        (location() | {"location": [37, 1]}, "body.location", "must be an object"),
        (contacts({"name": "Barbara"}), "body.contacts[0].name", "must be an object"),
    ],
)
def test_wrong_types(body: dict[str, Any], path: str, reason: str) -> None:
    assert problems(body) == [(path, reason)]


def test_not_a_number_is_not_a_coordinate() -> None:
    body = location() | {"location": {"latitude": float("nan"), "longitude": float("inf")}}
    assert paths(body) == ["body.location.latitude", "body.location.longitude"]


@pytest.mark.parametrize("value", ["\ud800 half an emoji", "nul\x00byte"])
def test_text_that_cannot_be_stored_is_refused(value: str) -> None:
    body = json.loads(json.dumps({"type": "text", "text": value}))  # as a JSON client can send it
    assert problems(body) == [("body.text", "must be valid text (no NUL characters or unpaired surrogates)")]


@given(st.text(alphabet=st.characters() | st.characters(categories=["Cs"]) | st.just("\x00"), min_size=1, max_size=20))
def test_any_accepted_text_hashes_and_round_trips_through_json(value: str) -> None:
    try:
        request = parse_send_request({"type": "text", "text": value, "tmpSendId": value})
    except InvalidRequest:
        return
    assert len(request.request_hash()) == 64
    assert json.loads(json.dumps(request.content, ensure_ascii=False).encode("utf-8")) == {"text": value}


def test_unknown_fields_anywhere() -> None:
    body = buttons(("A", "a"))
    body["buttons"][0]["id"] = "x"
    body["footer"] = "hi"
    assert problems(body) == [
        ("body.buttons[0].id", "is not a known field (known: title, payload)"),
        ("body.footer", "is not a known field"),
    ]


# ----------------------------------------------------------------------------- every limit at its edge


def _long(n: int) -> str:
    return "x" * n


STRING_LIMITS = [
    (L.TEXT, lambda s: text(s), "body.text"),
    (L.INTERACTIVE_BODY, lambda s: buttons(("A", "a"), body=s), "body.text"),
    (L.INTERACTIVE_BODY, lambda s: list_message(section(("A", "a")), body=s), "body.text"),
    (L.BUTTON_TITLE, lambda s: buttons((s, "a")), "body.buttons[0].title"),
    (L.BUTTON_PAYLOAD, lambda s: buttons(("A", s)), "body.buttons[0].payload"),
    (L.LIST_BUTTON, lambda s: list_message(section(("A", "a")), button=s), "body.list.button"),
    (L.SECTION_TITLE, lambda s: list_message(section(("A", "a"), title=s)), "body.list.sections[0].title"),
    (L.ROW_TITLE, lambda s: list_message(section((s, "a"))), "body.list.sections[0].rows[0].title"),
    (L.ROW_PAYLOAD, lambda s: list_message(section(("A", s))), "body.list.sections[0].rows[0].payload"),
    (
        L.ROW_DESCRIPTION,
        lambda s: list_message({"rows": [{"title": "A", "payload": "a", "description": s}]}),
        "body.list.sections[0].rows[0].description",
    ),
    (L.CAPTION, lambda s: media(image(caption=s)), "body.media[0].caption"),
    (L.FILENAME, lambda s: media(image(filename=s)), "body.media[0].filename"),
    (L.MEDIA_URL, lambda s: media(image(url="https://example.com/" + s[20:])), "body.media[0].url"),
    (L.LOCATION_NAME, lambda s: location(name=s), "body.location.name"),
    (L.LOCATION_ADDRESS, lambda s: location(address=s), "body.location.address"),
    (L.CONTEXT, lambda s: text(context=s), "body.context"),
    (L.TMP_SEND_ID, lambda s: text(tmpSendId=s), "body.tmpSendId"),
]


@pytest.mark.parametrize(
    ("bounds", "make", "path"), STRING_LIMITS, ids=[c[2] + str(i) for i, c in enumerate(STRING_LIMITS)]
)
def test_string_at_its_maximum_is_valid_and_one_more_is_not(bounds: L.Bounds, make: Any, path: str) -> None:
    assert bounds.max is not None
    parse_send_request(make(_long(int(bounds.max))))
    assert problems(make(_long(int(bounds.max) + 1))) == [
        (path, f"must be at most {int(bounds.max)} characters long (has {int(bounds.max) + 1})")
    ]


@pytest.mark.parametrize(
    ("make", "path"),
    [
        (lambda s: text(s), "body.text"),
        (lambda s: buttons((s, "a")), "body.buttons[0].title"),
        (lambda s: buttons(("A", "a"), body=s), "body.text"),
        (lambda s: list_message(section((s, "a"))), "body.list.sections[0].rows[0].title"),
        (lambda s: list_message(section(("A", s))), "body.list.sections[0].rows[0].payload"),
        (lambda s: list_message(section(("A", "a")), button=s), "body.list.button"),
        (lambda s: contacts({"name": {"formatted_name": s}}), "body.contacts[0].name.formatted_name"),
    ],
)
def test_a_shown_string_must_not_be_empty_or_blank(make: Any, path: str) -> None:
    assert problems(make("")) == [(path, "must not be empty")]
    assert problems(make(" \n\t")) == [(path, "must not be blank")]


COUNT_LIMITS = [
    (L.BUTTONS, lambda n: buttons(*[(f"T{i}", f"p{i}") for i in range(n)]), "body.buttons"),
    (L.MEDIA_ITEMS, lambda n: media(*[image() for _ in range(n)]), "body.media"),
    (
        L.SECTIONS,
        lambda n: list_message(*[section((f"R{i}", f"p{i}"), title=f"S{i}") for i in range(n)]),
        "body.list.sections",
    ),
    (
        L.CONTACTS,
        lambda n: (
            contacts(*[{"name": {"formatted_name": f"N{i}"}} for i in range(n)])
            if n
            else {"type": "contacts", "contacts": []}
        ),
        "body.contacts",
    ),
]


@pytest.mark.parametrize(("bounds", "make", "path"), COUNT_LIMITS, ids=[c[2] for c in COUNT_LIMITS])
def test_counts_at_their_bounds(bounds: L.Bounds, make: Any, path: str) -> None:
    low, high = int(bounds.min or 0), int(bounds.max or 0)
    parse_send_request(make(low))
    parse_send_request(make(high))
    assert problems(make(low - 1)) == [(path, f"must have at least {low} item")]
    # Too many sections also means too many rows in total: both are reported.
    assert (path, f"must have at most {high} items (has {high + 1})") in problems(make(high + 1))


def test_rows_are_counted_across_sections() -> None:
    ten = list_message(
        section(*[(f"R{i}", f"a{i}") for i in range(6)], title="A"),
        section(*[(f"R{i}", f"b{i}") for i in range(4)], title="B"),
    )
    parse_send_request(ten)
    eleven = copy.deepcopy(ten)
    eleven["list"]["sections"][1]["rows"].append({"title": "R", "payload": "b-extra"})
    assert problems(eleven) == [
        ("body.list.sections", "must have at most 10 rows in total across all sections (has 11)")
    ]
    assert problems(list_message(section(title="A"))) == [("body.list.sections[0].rows", "must have at least 1 item")]


@pytest.mark.parametrize(
    ("field", "edges", "outside"),
    [("latitude", (-90, 90, 0), (-90.000001, 90.5)), ("longitude", (-180, 180, 0.5), (-180.5, 181))],
)
def test_coordinates_within_range(field: str, edges: tuple[float, ...], outside: tuple[float, ...]) -> None:
    for value in edges:
        parse_send_request(location() | {"location": {"latitude": 0, "longitude": 0, field: value}})
    bounds = L.LATITUDE if field == "latitude" else L.LONGITUDE
    for value in outside:
        body = location() | {"location": {"latitude": 0, "longitude": 0, field: value}}
        assert problems(body) == [(f"body.location.{field}", f"must be between {bounds.min:g} and {bounds.max:g}")]


# ----------------------------------------------------------------------------- rules across fields


def test_button_titles_and_payloads_are_unique() -> None:
    body = buttons(("Yes", "y"), ("No", "y"), ("Yes", "n"))
    assert problems(body) == [
        ("body.buttons[2].title", "must be unique: the same title as body.buttons[0].title"),
        ("body.buttons[1].payload", "must be unique: the same payload as body.buttons[0].payload"),
    ]


def test_button_payload_has_no_surrounding_whitespace() -> None:
    assert problems(buttons(("A", " a"))) == [("body.buttons[0].payload", "must not start or end with whitespace")]


def test_row_payloads_are_unique_across_sections() -> None:
    body = list_message(section(("A", "x"), title="S1"), section(("B", "x"), title="S2"))
    assert problems(body) == [
        (
            "body.list.sections[1].rows[0].payload",
            "must be unique: the same payload as body.list.sections[0].rows[0].payload",
        )
    ]


def test_section_title_is_optional_for_one_section_and_required_for_more() -> None:
    parse_send_request(list_message(section(("A", "a"), title=None)))
    body = list_message(
        section(("A", "a"), title=None), section(("B", "b"), title="Two"), section(("C", "c"), title="")
    )
    assert problems(body) == [
        ("body.list.sections[0].title", "is required when the list has more than one section"),
        ("body.list.sections[2].title", "is required when the list has more than one section"),
    ]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"mediaType": "image"}, "must have exactly one of url or fileId"),
        ({"mediaType": "image", "url": None, "fileId": None}, "must have exactly one of url or fileId"),
        (
            {"mediaType": "image", "url": "https://example.com/a.jpg", "fileId": FILE_ID},
            "must have exactly one of url or fileId, not both",
        ),
    ],
)
def test_exactly_one_of_url_or_file_id(item: dict[str, Any], reason: str) -> None:
    assert problems(media(item)) == [("body.media[0]", reason)]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.jpg",
        "example.com/a.jpg",
        "/files/a.jpg",
        "https://",
        "https://exa mple.com/a",
        "http://[::1/a",
        "http://x:99999/a",
        "javascript:alert(1)",
    ],
)
def test_url_must_be_absolute_http(url: str) -> None:
    assert problems(media(image(url=url))) == [("body.media[0].url", "must be an absolute http(s) URL")]


@pytest.mark.parametrize(
    "file_id", ["6900c1eac29d42708adac92", "6900C1EAC29D42708ADAC92F", "6900c1eac29d42708adac92g", "x" * 24]
)
def test_file_id_must_be_24_hex(file_id: str) -> None:
    assert problems(media({"mediaType": "image", "fileId": file_id})) == [
        ("body.media[0].fileId", "must be a file id (24 lowercase hexadecimal characters)")
    ]


def test_audio_takes_no_caption_but_any_type_may_name_its_file() -> None:
    parse_send_request(media({"mediaType": "audio", "fileId": FILE_ID, "filename": "voice.ogg"}))
    assert problems(media({"mediaType": "audio", "fileId": FILE_ID, "caption": "hi"})) == [
        ("body.media[0].caption", "is not supported for mediaType 'audio'")
    ]


# ----------------------------------------------------------------------------- every problem, not the first


def test_every_problem_is_reported_at_once() -> None:
    body = {
        "type": "buttons",
        "text": "",
        "buttons": [{"title": "A" * 21, "payload": "p"}, {"title": "A" * 21, "payload": "p"}, {"title": 3}, {}, {}],
        "media": [],
        "tmpSendId": 5,
        "extra": 1,
    }
    assert paths(body) == sorted(
        [
            "body.text",
            "body.buttons",
            "body.buttons[0].title",
            "body.buttons[1].title",
            "body.buttons[1].title",  # too long, and the same as [0]
            "body.buttons[1].payload",
            "body.buttons[2].title",
            "body.buttons[2].payload",
            "body.buttons[3].title",
            "body.buttons[3].payload",
            "body.buttons[4].title",
            "body.buttons[4].payload",
            "body.media",
            "body.tmpSendId",
            "body.extra",
        ]
    )


def test_the_message_names_the_first_problem_and_counts_the_rest() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_send_request({"type": "text", "text": "", "x": 1})
    assert info.value.message == "The message is not valid: body.text: must not be empty (and 1 more problem, see details)."
    assert info.value.body()["details"] == [
        {"path": "body.text", "reason": "must not be empty"},
        {"path": "body.x", "reason": "is not a known field"},
    ]


def test_a_flood_of_problems_is_capped() -> None:
    body = {"type": "media", "media": [{} for _ in range(500)]}
    with pytest.raises(InvalidRequest) as info:
        parse_send_request(body)
    details = info.value.details
    assert len(details) == MAX_DETAILS + 1
    assert details[-1]["path"] == "body" and details[-1]["reason"].endswith("more problems not listed")


# ----------------------------------------------------------------------------- the result


def test_send_request_is_immutable() -> None:
    request = parse_send_request(buttons(("A", "a")))
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.type = "text"  # type: ignore[misc]
    request.content["buttons"].append({"title": "B", "payload": "b"})
    assert request.content == {"text": "Pick one", "buttons": [{"title": "A", "payload": "a"}]}


def test_parsing_does_not_change_the_callers_body() -> None:
    body = media(image(caption=None))
    before = copy.deepcopy(body)
    parse_send_request(body)
    assert body == before


def test_request_hash_ignores_key_order_and_absent_optionals() -> None:
    a = {
        "type": "list",
        "text": "Choose",
        "list": {"button": "Menu", "sections": [{"title": "S", "rows": [{"title": "A", "payload": "a"}]}]},
    }
    b = {
        "list": {
            "sections": [{"rows": [{"payload": "a", "title": "A", "description": None}], "title": "S"}],
            "button": "Menu",
        },
        "text": "Choose",
        "type": "list",
        "context": None,
    }
    assert parse_send_request(a).request_hash() == parse_send_request(b).request_hash()
    whole = {"type": "location", "location": {"latitude": 37, "longitude": 1}}
    decimal = {"type": "location", "location": {"longitude": 1.0, "latitude": 37.0}}
    assert parse_send_request(whole).request_hash() == parse_send_request(decimal).request_hash()


@pytest.mark.parametrize(
    "other",
    [
        text("Hey there?"),
        text(context=WAMID),
        text(tmpSendId="k1"),
        {"type": "buttons", "text": "Hey there!", "buttons": [{"title": "A", "payload": "a"}]},
    ],
)
def test_request_hash_differs_when_the_request_does(other: dict[str, Any]) -> None:
    assert parse_send_request(text()).request_hash() != parse_send_request(other).request_hash()


def test_request_hash_is_the_sha256_of_the_canonical_json() -> None:
    # Spelled out, so a change of the canonical form (which would turn replays of keys stored
    # before an upgrade into 409s) cannot go unnoticed.
    canonical = '{"content":{"text":"Hey there!"},"type":"text"}'
    assert parse_send_request(text()).request_hash() == hashlib.sha256(canonical.encode()).hexdigest()
    assert (
        parse_send_request(text()).request_hash() == "4778bb11054da3e68473e1d6f0ccdb4da817a60a7ffaa727e7071149c3577a02"
    )


# ----------------------------------------------------------------------------- properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
field_names = st.sampled_from(
    [
        "type",
        "text",
        "media",
        "buttons",
        "list",
        "contacts",
        "location",
        "context",
        "tmpSendId",
        "mediaType",
        "url",
        "fileId",
        "caption",
        "filename",
        "title",
        "payload",
        "button",
        "sections",
        "rows",
        "description",
        "name",
        "formatted_name",
        "phones",
        "latitude",
        "longitude",
    ]
)
type_names = st.sampled_from(["text", "media", "buttons", "list", "contacts", "location", "sticker"])
# JSON shaped like our bodies, so the fuzzing reaches deep into every type.
body_like = st.recursive(
    st.none() | st.booleans() | st.integers(-200, 200) | st.floats(-200, 200) | st.text(max_size=25) | type_names,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(field_names, inner, max_size=6),
    max_leaves=40,
)


def _parse_or_problems(body: Any) -> SendRequest | list[dict[str, Any]]:
    try:
        return parse_send_request(body)
    except InvalidRequest as error:
        return error.details


@settings(max_examples=400)
@given(
    json_values | body_like | st.dictionaries(field_names, body_like, max_size=6).map(lambda d: {"type": "list", **d})
)
def test_any_json_gives_a_request_or_an_invalid_request_never_another_error(body: Any) -> None:
    result = _parse_or_problems(body)
    if isinstance(result, list):
        assert result, "an InvalidRequest must say what is wrong"
        for detail in result:
            assert detail["path"] == "body" or detail["path"].startswith(("body.", "body["))
            assert isinstance(detail["reason"], str) and detail["reason"]
    else:
        assert result.type in ("text", "media", "buttons", "list", "contacts", "location")
        assert len(result.request_hash()) == 64


def _non_blank(max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=max_size).filter(
        lambda s: s.strip()
    )


def _payload(max_size: int) -> st.SearchStrategy[str]:
    return _non_blank(max_size).filter(lambda s: s == s.strip())


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["text", "media", "buttons", "list", "contacts", "location"]))
    if kind == "text":
        body: dict[str, Any] = {"text": draw(_non_blank(60))}
    elif kind == "media":
        item = st.fixed_dictionaries(
            {"mediaType": st.sampled_from(["image", "video", "document"])},
            optional={"caption": _non_blank(30), "filename": _non_blank(20)},
        ).flatmap(lambda d: st.sampled_from([d | {"fileId": FILE_ID}, d | {"url": "https://example.com/x"}]))
        body = {"media": draw(st.lists(item, min_size=1, max_size=10))}
    elif kind == "buttons":
        titles = draw(st.lists(_non_blank(20), min_size=1, max_size=3, unique=True))
        payloads = draw(st.lists(_payload(40), min_size=len(titles), max_size=len(titles), unique=True))
        body = {
            "text": draw(_non_blank(60)),
            "buttons": [{"title": t, "payload": p} for t, p in zip(titles, payloads, strict=True)],
        }
    elif kind == "list":
        payloads = draw(st.lists(_payload(30), min_size=1, max_size=10, unique=True))
        cuts = sorted(draw(st.sets(st.integers(1, len(payloads) - 1), max_size=9))) if len(payloads) > 1 else []
        groups = [payloads[a:b] for a, b in zip([0, *cuts], [*cuts, len(payloads)], strict=True)]
        sections = [
            {"title": f"S{i}", "rows": [{"title": draw(_non_blank(24)), "payload": p} for p in g]}
            for i, g in enumerate(groups)
        ]
        body = {"text": draw(_non_blank(60)), "list": {"button": draw(_non_blank(20)), "sections": sections}}
    elif kind == "contacts":
        card = st.fixed_dictionaries(
            {"name": st.fixed_dictionaries({"formatted_name": _non_blank(30)})},
            optional={
                "phones": st.lists(
                    st.fixed_dictionaries(
                        {"phone": _non_blank(15)}, optional={"type": st.sampled_from(["HOME", "WORK"])}
                    ),
                    max_size=2,
                )
            },
        )
        body = {"contacts": draw(st.lists(card, min_size=1, max_size=5))}
    else:
        body = {"location": {"latitude": draw(st.floats(-90, 90)), "longitude": draw(st.floats(-180, 180))}}
    extras = draw(st.fixed_dictionaries({}, optional={"context": _non_blank(60), "tmpSendId": _non_blank(60)}))
    return {"type": kind, **body, **extras}


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


@settings(max_examples=300)
@given(valid_bodies())
def test_valid_bodies_parse_and_round_trip(body: dict[str, Any]) -> None:
    request = parse_send_request(body)
    assert request.type == body["type"]
    assert request.content == {k: v for k, v in body.items() if k not in ("type", "context", "tmpSendId")}
    # The stored content, sent again, is the same request.
    again = parse_send_request(
        {"type": request.type, **request.content, **{k: body[k] for k in ("context", "tmpSendId") if k in body}}
    )
    assert again == request
    assert parse_send_request(_reversed_keys(body)).request_hash() == request.request_hash()
    assert parse_send_request(json.loads(json.dumps(body))).request_hash() == request.request_hash()
