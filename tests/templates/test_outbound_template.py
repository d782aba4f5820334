"""A stored template message → the Cloud API payload (channels.whatsapp.outbound), checked
against Meta's `Message` schema with the simulator's validator."""

from __future__ import annotations

from typing import Any

import pytest

from inboxd.channels.whatsapp.outbound import cloud_payloads, media_file_ids
from inboxd.simulator.schema import validate_message

WA_ID = "16505551234"
FILE_ID = "6900c1eac29d42708adac92f"


def stored(components: list[dict[str, Any]], language: str = "en") -> dict[str, Any]:
    return {"text": "rendered", "special": {"type": "template", "template": {
        "name": "order_ready", "language": {"code": language}, "components": components}}}


def payload(content: dict[str, Any], media_ids: list[str] | None = None) -> dict[str, Any]:
    [out] = cloud_payloads("special", content, to=WA_ID, media_ids=media_ids or [])
    assert validate_message(out) is None, validate_message(out)
    return out


def test_body_values() -> None:
    body = {"type": "body", "parameters": [{"type": "text", "text": "Dana"}, {"type": "text", "text": "15033"}]}
    assert payload(stored([body])) == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_ID, "type": "template",
        "template": {"name": "order_ready", "language": {"code": "en"}, "components": [body]},
    }


def test_no_components() -> None:
    assert payload(stored([]))["template"] == {"name": "order_ready", "language": {"code": "en"}, "components": []}


@pytest.mark.parametrize("kind", ["image", "video", "document"])
def test_media_header_goes_by_media_id(kind: str) -> None:
    media = {"fileId": FILE_ID, "filename": "receipt.pdf", "contentType": "application/pdf"}
    content = stored([{"type": "header", "parameters": [{"type": kind, kind: media}]}])
    assert media_file_ids("special", content) == [FILE_ID]
    sent = payload(content, ["1013859600285441"])["template"]["components"][0]["parameters"][0][kind]
    expected = {"id": "1013859600285441", "filename": "receipt.pdf"} if kind == "document" else {"id": "1013859600285441"}
    assert sent == expected
    assert content["special"]["template"]["components"][0]["parameters"][0][kind] == media  # stored one untouched


def test_buttons() -> None:
    buttons = [
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "15033"}]},
        {"type": "button", "sub_type": "quick_reply", "index": "1", "parameters": [{"type": "payload", "payload": "yes"}]},
    ]
    assert payload(stored(buttons))["template"]["components"] == buttons


def test_a_context_is_kept() -> None:
    [out] = cloud_payloads("special", stored([]), to=WA_ID, context="wamid.X")
    assert out["context"] == {"message_id": "wamid.X"}


def test_other_special_messages_cannot_be_sent() -> None:
    incoming = {"special": {"type": "reaction", "payload": {}}}
    assert media_file_ids("special", incoming) == []
    with pytest.raises(ValueError, match="special message of type 'reaction'"):
        cloud_payloads("special", incoming, to=WA_ID)
    with pytest.raises(ValueError, match="media ids"):
        cloud_payloads("special", stored([{"type": "header", "parameters": [{"type": "image", "image": {"fileId": FILE_ID}}]}]),
                       to=WA_ID, media_ids=[])


def test_media_messages_still_list_their_files() -> None:
    content = {"media": [{"mediaType": "image", "fileId": "a"}, {"mediaType": "document", "fileId": "b"}]}
    assert media_file_ids("media", content) == ["a", "b"] and media_file_ids("text", {"text": "x"}) == []
