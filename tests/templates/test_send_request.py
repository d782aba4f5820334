"""The Send Template Message body (inboxd.templates.send_request) and the values' fit
(inboxd.templates.requests.check_values_fit)."""

from __future__ import annotations

from typing import Any

import pytest

from inboxd.domain.errors import InvalidRequest
from inboxd.templates.requests import check_values_fit, parse_values
from inboxd.templates.send_request import parse_template_send
from inboxd.templates.validation import Problems

BASE = {"templateName": "inbox_utility_66", "to": "34673494148"}


def parse(body: dict[str, Any], country: str | None = "972"):  # type: ignore[no-untyped-def]
    return parse_template_send(body, default_country_code=country)


def problems_of(body: Any) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as caught:
        parse(body)
    return {d["path"]: d["reason"] for d in caught.value.details}


def test_the_references_examples() -> None:
    simple = parse({"templateName": "inbox_marketing_98", "to": "972521234567"})
    assert simple.template_name == "inbox_marketing_98" and simple.to == "972521234567" and simple.values == {}
    values = parse({**BASE, "body": ["first value", "second value"]})
    assert values.values == {"body": ["first value", "second value"]} and values.to == "34673494148"


def test_every_field() -> None:
    req = parse({
        **BASE, "to": "052-123-4567", "from": "+972 50-987-6543", "language": "he", "body": ["a"],
        "header": {"url": "https://example.com/r.pdf", "filename": "r.pdf", "type": "document"},
        "buttons": [{"text": "15033"}, {"index": 2, "payload": "p"}],
        "replyAction": {"chatStatus": 3, "replyText": "Thanks", "expirationTime": 3600, "responsibleDepartment": "d",
                        "replyToTemplateFile": {"url": "https://example.com/f", "name": "f"}, "resolveTime": 5},
        "setChat": {"displayName": "Dana", "crmData": {"a": 1}, "crmDeepLink": "https://crm/1", "externalBot": False,
                    "departmentId": None},
        "sessionMessage": {"type": "text", "text": "hi"}, "tmpSendId": "k",
    })
    assert req.to == "972521234567" and req.from_ == "972509876543" and req.language == "he"
    assert req.values["buttons"] == [{"index": 0, "text": "15033"}, {"index": 2, "payload": "p"}]
    assert req.reply_action is not None and req.reply_action["expirationTime"] == 3600
    assert req.set_chat == {"displayName": "Dana", "crmData": {"a": 1}, "crmDeepLink": "https://crm/1",
                            "externalBot": False, "departmentId": None}
    assert req.session_message is not None and req.session_message.type == "text" and req.tmp_send_id == "k"
    assert parse({**BASE, "sessionMessage": {}}).session_message_rendered is True


def test_every_problem_is_reported_with_its_path() -> None:
    found = problems_of({
        "templateName": "", "to": 5, "from": "abc", "language": "EN", "body": "x",
        "header": {"url": "u", "text": "t"}, "buttons": [{"index": 11, "text": "a"}, {"text": "has space"}],
        "replyAction": {"chatStatus": 4, "expirationTime": 5, "setBotNode": "n", "nope": 1},
        "setChat": {"displayName": 3, "crmData": [], "status": 1},
        "sessionMessage": {"type": "text"}, "tmpSendId": "",
    })
    assert set(found) == {
        "body.templateName", "body.to", "body.from", "body.language", "body.body", "body.header",
        "body.buttons[0].index", "body.buttons[1].text", "body.replyAction.chatStatus",
        "body.replyAction.expirationTime", "body.replyAction.nope", "body.setChat.displayName",
        "body.setChat.crmData", "body.setChat.status", "body.sessionMessage.text", "body.tmpSendId",
    }
    assert problems_of({"to": "1"}).keys() == {"body.templateName", "body.to"}
    assert problems_of([1]) == {"body": "must be an object"}


def test_set_bot_node_needs_the_bot_status_and_agent_excludes_department() -> None:
    found = problems_of({**BASE, "replyAction": {"chatStatus": 2, "setBotNode": "n", "responsibleAgent": "a",
                                                 "responsibleDepartment": "d"}})
    assert set(found) == {"body.replyAction.setBotNode", "body.replyAction.responsibleAgent"}


def test_session_message_cannot_carry_its_own_key() -> None:
    assert "body.sessionMessage.tmpSendId" in problems_of({**BASE, "sessionMessage": {"type": "text", "text": "x",
                                                                                      "tmpSendId": "k"}})


def test_the_idempotency_hash_ignores_how_the_phone_was_written() -> None:
    one = parse({**BASE, "to": "+972 52-123-4567", "body": ["a"]})
    two = parse({"body": ["a"], "to": "0521234567", "templateName": BASE["templateName"]})
    assert one.request_hash() == two.request_hash()
    assert one.request_hash() != parse({**BASE, "to": "0521234567", "body": ["b"]}).request_hash()


COMPONENTS = [
    {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["h"]}},
    {"type": "BODY", "text": "Hi {{1}}, {{2}}"},
    {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Go", "url": "https://x.example/{{1}}"},
                                    {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15550051310"}]},
]


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"body": ["a"]}, "2 variables ({{1}}, {{2}}); 1 value given"),
        ({"body": ["a", "b", "c"]}, "3 values given"),
        ({"body": ["a", "b"]}, "IMAGE header: give header.url"),
        ({"body": ["a", "b"], "header": {"text": "t"}}, "header is IMAGE"),
        ({"body": ["a", "b"], "header": {"url": "https://x", "type": "video"}}, "header is image"),
        ({"body": ["a", "b"], "header": {"url": "https://x"}}, "URL button 0 has a variable"),
        ({"body": ["a", "b"], "header": {"url": "https://x"}, "buttons": [{"index": 0, "text": "x"}, {"index": 1, "text": "y"}]},
         "button 1 is PHONE_NUMBER without a variable"),
        ({"body": ["a", "b"], "header": {"url": "https://x"}, "buttons": [{"index": 0, "payload": "x"}]},
         "only QUICK_REPLY buttons take a payload"),
        ({"body": ["a", "b"], "header": {"url": "https://x"}, "buttons": [{"index": 5, "text": "x"}]},
         "there is no button 5"),
    ],
)
def test_values_must_fit_the_template(values: dict[str, Any], problem: str) -> None:
    problems = Problems()
    checked = parse_values(values, "body", problems)
    assert problems.items == []
    check_values_fit(COMPONENTS, checked, "body", problems, require_all=True)
    assert any(problem in p["reason"] for p in problems.items), problems.items


def test_fitting_values() -> None:
    problems = Problems()
    values = parse_values({"body": ["a", "b"], "header": {"fileId": "6900c1eac29d42708adac92f"},
                           "buttons": [{"text": "x"}]}, "body", problems)
    check_values_fit(COMPONENTS, values, "body", problems, require_all=True)
    assert problems.items == []
