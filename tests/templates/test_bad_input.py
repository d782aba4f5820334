"""Bad input is a 400, never a 500: any JSON into the template body parsers raises only
`InvalidRequest` (or parses)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from inboxd.domain.errors import InvalidRequest
from inboxd.templates.requests import parse_create, parse_localization, parse_update
from inboxd.templates.send_request import parse_template_send

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=20)
KEYS = st.sampled_from([
    "templateName", "to", "from", "language", "body", "header", "buttons", "replyAction", "setChat", "sessionMessage",
    "tmpSendId", "title", "category", "chatStatus", "usage", "name", "isDefault", "departments", "setBotNode",
    "responsibleAgent", "responsibleDepartment", "replyText", "attachedFile", "components", "defaults", "type",
    "format", "text", "example", "index", "payload", "url", "fileId",
])
COMPONENT = st.fixed_dictionaries({"type": st.sampled_from(["HEADER", "BODY", "FOOTER", "BUTTONS", "x"])},
                                  optional={"format": st.sampled_from(["TEXT", "IMAGE", "LOCATION", "x"]),
                                            "text": st.sampled_from(["Hi {{1}}", "a", "", "{{2}}", "{{x}}"]) | JSON,
                                            "example": JSON, "buttons": st.lists(st.dictionaries(KEYS, JSON, max_size=4), max_size=4)})
BODIES = st.dictionaries(KEYS, JSON | st.lists(COMPONENT, max_size=4), max_size=8) | JSON


def _only_invalid_request(call: Any) -> None:
    try:
        call()
    except InvalidRequest:
        pass


@settings(max_examples=300, deadline=None)
@given(BODIES)
def test_send_bodies(body: Any) -> None:
    _only_invalid_request(lambda: parse_template_send(body, default_country_code="972"))


@settings(max_examples=300, deadline=None)
@given(BODIES)
def test_template_bodies(body: Any) -> None:
    _only_invalid_request(lambda: parse_create(body))
    current = {"chat_status": 1, "set_bot_node": None, "responsible_agent": None, "responsible_department": "d"}
    _only_invalid_request(lambda: parse_update(body, current))


@settings(max_examples=500, deadline=None)
@given(st.fixed_dictionaries({"language": st.sampled_from(["en", "EN", 3]), "components": st.lists(COMPONENT, max_size=5) | JSON},
                             optional={"defaults": st.dictionaries(st.sampled_from(["body", "header", "buttons"]), JSON, max_size=3)}))
def test_localization_bodies(body: Any) -> None:
    _only_invalid_request(lambda: parse_localization(body))
