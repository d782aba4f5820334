"""Reading request bodies and the request headers shared by the sending endpoints, one way."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from inboxd.domain.errors import InvalidRequest, UnsupportedMediaType, problem

MAX_IDEMPOTENCY_KEY = 255
_REQUIRED = object()
M = TypeVar("M", bound=BaseModel)
# Models documented by `model_body`: their schemas join the document's components.
BODY_MODELS: dict[str, type[BaseModel]] = {}


async def json_body(request: Request, *, empty: Any = _REQUIRED) -> Any:
    """The decoded JSON body, the one reader of every JSON-body route (docs/contract.md):

    - no body (empty, or only whitespace), with any or no type: `empty` when given (the body is
      optional), else 400 — there is no content whose type could be wrong;
    - a body not declared as JSON (`Content-Type: application/json` or `application/*+json`):
      415, whatever it holds;
    - a body declared as JSON that does not parse: 400."""
    raw = await request.body()
    if not raw.strip():
        if empty is not _REQUIRED:
            return empty
        raise InvalidRequest("A JSON body is required (Content-Type: application/json).",
                             details=[problem("body", "is required")])
    if not is_json_type(request.headers.get("content-type")):
        raise UnsupportedMediaType(
            "The body must be JSON, sent with Content-Type: application/json.",
            details=[problem("header.Content-Type", "must be application/json")],
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc}.", details=[problem("body", "not valid JSON")]) from None


def parse_model(model: type[M], body: Any) -> M:
    """`body` (from `json_body`) validated as `model`; problems are the 400 of a FastAPI body."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def model_body(model: type[BaseModel], *, required: bool) -> dict[str, Any]:
    """`openapi_extra` documenting a body that the route reads with `json_body` + `parse_model`
    (the model's schema joins the document's components: `api.contract`)."""
    BODY_MODELS[model.__name__] = model
    schema: dict[str, Any] = {"$ref": f"#/components/schemas/{model.__name__}"}
    if not required:
        schema = {"anyOf": [schema, {"type": "null"}], "title": "Body"}
    body: dict[str, Any] = {"content": {"application/json": {"schema": schema}}}
    if required:
        body = {"required": True, **body}
    return {"requestBody": body}


def is_json_type(content_type: str | None) -> bool:
    """`application/json` or `application/<anything>+json`, with any parameters (charset)."""
    if not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def body_examples(examples: dict[str, Any], *, required: bool = True, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """`openapi_extra` documenting a JSON body that the route reads itself (by example; `schema`,
    e.g. `api.schemas.ref("LabelCreateRequest")`, when the body has one: the fuzzer then makes
    bodies the route takes, so the stateful links run)."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": schema or {"type": "object"}, "examples": examples}},
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
