"""`##provide` and `%provider:key%`: what they render to, and what is refused at import."""

from __future__ import annotations

import pytest

from inboxd.events.placeholders import TemplateProblem, references, render

PROVIDERS = {
    "message": {"_id": "m1", "parent_chat": "c1", "text": "hi", "media": [{"fileId": "f1"}]},
    "messageStatusRequest": {"status": 4, "ids": ["wamid.1"], "error": {"code": 131026}, "chat": {"id": "9725"}},
    "addedLabels": {"labels": ["vip"]},
}


def provide(provider: str, key: str) -> dict[str, dict[str, str]]:
    return {"##provide": {"provider": provider, "key": key}}


def test_provide_objects_become_values_of_any_type() -> None:
    template = {
        "whole": provide("message", "message"),
        "field": provide("message", "parent_chat"),
        "nested": provide("message", "media.0.fileId"),
        "array": provide("addedLabels", "labels"),
        "missing": provide("message", "nothing.here"),
        "unknown provider": provide("chat", "chat"),
        "list": [provide("message", "text"), 1, None],
    }
    assert render(template, PROVIDERS) == {
        "whole": PROVIDERS["message"], "field": "c1", "nested": "f1", "array": ["vip"], "missing": None,
        "unknown provider": None, "list": ["hi", 1, None],
    }


def test_inline_placeholders_keep_the_type_when_alone_and_become_text_inside_a_string() -> None:
    assert render("%messageStatusRequest:status%", PROVIDERS) == 4
    assert render("%messageStatusRequest:ids%", PROVIDERS) == ["wamid.1"]
    assert render("%messageStatusRequest:error%", PROVIDERS) == {"code": 131026}
    assert render("%message:nothing%", PROVIDERS) is None
    assert render("status %messageStatusRequest:status% for %message:text%!", PROVIDERS) == "status 4 for hi!"
    assert render("ids=%messageStatusRequest:ids% x=%message:nothing%.", PROVIDERS) == 'ids=["wamid.1"] x=.'
    assert render("100% sure, 50%off", PROVIDERS) == "100% sure, 50%off"  # not placeholders


def test_references_are_found_with_their_paths() -> None:
    template = {"a": [provide("message", "text"), "%chat:agent.uid% and %problem:name%"]}
    found = [(r.provider, r.key, r.path) for r in references(template, "data")]
    assert found == [("message", "text", "data.a[0]"), ("chat", "agent.uid", "data.a[1]"),
                     ("problem", "name", "data.a[1]")]


@pytest.mark.parametrize(
    ("template", "path", "reason"),
    [
        ({"##provide": "message"}, "t.##provide", "must be an object"),
        ({"##provide": {"provider": "message"}}, "t.##provide.key", "dotted path"),
        ({"##provide": {"provider": "message", "key": "a..b"}}, "t.##provide.key", "dotted path"),
        ({"##provide": {"provider": "1x", "key": "a"}}, "t.##provide.provider", "provider name"),
        ({"##provide": {"provider": "message", "key": "a", "default": 1}}, "t.##provide", "unknown field"),
        ({"##provide": {"provider": "message", "key": "a"}, "b": 1}, "t", "may hold nothing else"),
        ("%chat:title|upper%", "t", "transformers are not supported"),
    ],
)
def test_malformed_placeholders_are_refused(template: object, path: str, reason: str) -> None:
    with pytest.raises(TemplateProblem) as caught:
        list(references(template, "t"))
    assert caught.value.path == path and reason in caught.value.reason
