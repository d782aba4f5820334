"""Reading request bodies and the request headers shared by the sending endpoints, one way."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from inboxd.domain.errors import InvalidRequest, problem

MAX_IDEMPOTENCY_KEY = 255
_REQUIRED = object()


async def json_body(request: Request, *, empty: Any = _REQUIRED) -> Any:
    """The decoded JSON body; a body that is not JSON is 400. `empty`, when given, is what an
    empty body means (otherwise an empty body is not JSON either)."""
    raw = await request.body()
    if empty is not _REQUIRED and not raw.strip():
        return empty
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc}.", details=[problem("body", "not valid JSON")]) from None


def body_examples(examples: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` documenting a JSON body that the route reads itself (by example)."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": {"type": "object"}, "examples": examples}},
        }
    }


def idempotency_key(header: str | None, fallback: str | None) -> str | None:
    """The request's idempotency key: the `Idempotency-Key` header, else the body's `tmpSendId`."""
    if header is not None and not 1 <= len(header) <= MAX_IDEMPOTENCY_KEY:
        reason = f"must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
        raise InvalidRequest(f"Idempotency-Key {reason}.", details=[problem("header.Idempotency-Key", reason)])
    return header or fallback


def prefers_async(prefer: str | None) -> bool:
    """RFC 7240 `Prefer: respond-async`."""
    return prefer is not None and "respond-async" in prefer.lower()
