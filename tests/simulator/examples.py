"""Meta's send examples, with their placeholders filled in so they can really be sent."""

from __future__ import annotations

import json
from typing import Any

from tests.support.meta import send_examples

# Postman-style variables and `<…>` slots in Meta's examples that are not values.
HEADER_TYPE_SLOT = "<HEADER_TYPE>"


def filled_examples(to: str) -> dict[str, dict[str, Any]]:
    """Every send example with its recipient set to `to` and its header-type slot filled
    (the multi-product example's header carries a text, so its type is text)."""
    out = {}
    for name, body in send_examples().items():
        text = json.dumps(body).replace(HEADER_TYPE_SLOT, "text")
        body = json.loads(text)
        if "to" in body:
            body["to"] = to
        out[name] = body
    return out


def message_examples(to: str = "+16505551234") -> dict[str, dict[str, Any]]:
    """The examples that are messages (not the mark-as-read one)."""
    return {name: body for name, body in filled_examples(to).items() if body.get("status") != "read"}
