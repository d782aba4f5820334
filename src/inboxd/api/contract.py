"""What every operation answers, in the OpenAPI document: declared next to each route, and
completed for the whole document in one place.

A route declares its success answer and the errors only it gives:

    @router.get("/chats/{chatId}", summary="Get Chat by Chat ID", **require(Scope.SEND_SESSION_MESSAGE),
                **answers(ok("ChatPublic"), chat_not_found(EXAMPLE_ID)))

`ok(name)` names a shape of `api.schemas` (its example becomes the answer's example); errors are
given as the `ApiError`s the route raises (their status, and their body as the example).
`finish(document, routes, settings)` then adds what follows from the route itself, the same for
all: 400 for anything with parameters or a body, 401/403 for `require(...)`, 413/415 for a JSON
body, 429 where the rate limiter runs, 500 everywhere; the `X-Request-Id` and `RateLimit`
headers; the components; and it resolves `links` (stateful chains: create → get → delete)
declared by the target operation's summary. FastAPI's own 422 "Validation Error" goes: inboxd answers 400.

`tests/contract/test_document.py` walks every operation and fails for one without a declared
answer, so a new route is documented by adding `**answers(...)` beside its `require(...)`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.models import Schema
from fastapi.openapi.utils import get_openapi

from inboxd.api.errors import internal_error
from inboxd.api.request_body import BODY_MODELS
from inboxd.api.schemas import SCHEMAS, ref
from inboxd.domain.errors import (
    ApiError,
    Forbidden,
    InvalidRequest,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    UnsupportedMediaType,
    problem,
)

JSON_TYPE = "application/json"
EXAMPLE_REQUEST_ID = "6912a3b1d0c2473c648f3cd2"
_STATUS_TEXT = {
    200: "OK", 201: "Created", 202: "Accepted", 400: "Invalid request", 401: "No valid API token",
    403: "The token lacks a scope", 404: "Not found", 409: "Conflict", 413: "Too large", 415: "Unsupported media type",
    422: "Refused by a rule", 429: "Rate limited", 500: "Unexpected failure (the details are in the server log)",
    502: "The channel refused", 503: "Unavailable",
}

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {
        "description": "This request's id (the client's `X-Request-Id` when it sent a valid one): in the error body "
        "and on every log line of the request.",
        "required": True,
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": 'The caller\'s token bucket (IETF draft): `"token";q=<burst>;w=<seconds to refill>`.',
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What is left of it: `"token";r=<requests left>;t=<seconds until full>`.',
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Seconds until a request may be accepted again.", "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9]+$"}},
    "WWW-Authenticate": {"description": "`Bearer`: how to authenticate.", "schema": {"type": "string"}},
    "Idempotent-Replay": {"description": "`true` when the answer replays an earlier request with the same key.",
                          "schema": {"type": "string"}},
    "Preference-Applied": {"description": "`respond-async` on a 202.", "schema": {"type": "string"}},
    "Set-Cookie": {"description": "The session cookie `inboxd_session` (HttpOnly, SameSite=Lax, Secure behind https); "
                   "cleared (Max-Age=0) at sign-out.", "schema": {"type": "string"}},
}


@dataclass(frozen=True)
class Link:
    """An OpenAPI link to the operation whose summary is `target` (e.g. "Get Chat by Chat ID")."""

    target: str
    parameters: dict[str, str]
    description: str = ""


def link(target: str, description: str = "", **parameters: str) -> Link:
    return Link(target, parameters, description)


@dataclass(frozen=True)
class Ok:
    schema: str  # a name in api.schemas
    status: int = 200
    description: str = ""
    media_type: str = JSON_TYPE
    headers: tuple[str, ...] = ()
    links: dict[str, Link] = field(default_factory=dict)
    example: Any = None  # default: the schema's


def ok(schema: str, status: int = 200, *, description: str = "", media_type: str = JSON_TYPE,
       headers: Iterable[str] = (), links: dict[str, Link] | None = None, example: Any = None) -> Ok:
    return Ok(schema, status, description, media_type, tuple(headers), links or {}, example)


def text(description: str, example: str, status: int = 200) -> Ok:
    """A plain-text answer (`text/plain`)."""
    return Ok("PlainText", status, description, "text/plain", example=example)


# Declared answers, by key: FastAPI re-encodes a route's `responses` dropping every None (examples
# have nulls), so a route carries only the key and `finish` puts the declaration back whole.
_DECLARED: dict[str, dict[str, Any]] = {}
ANSWER_KEY = "x-inboxd-answer"


def answers(*outcomes: Ok | ApiError) -> dict[str, Any]:
    """Route keyword arguments documenting the route's answers: its successes (`ok`, `text`)
    and the errors particular to it (the `ApiError`s it raises); the rest is added by `finish`."""
    responses = _responses(outcomes)
    declared = {}
    for status, response in responses.items():
        key = f"{len(_DECLARED)}"
        _DECLARED[key] = response
        declared[status] = {"description": response["description"], ANSWER_KEY: key}
    return {"responses": declared}


def _responses(outcomes: Iterable[Ok | ApiError]) -> dict[int, dict[str, Any]]:
    responses: dict[int, dict[str, Any]] = {}
    for outcome in outcomes:
        if isinstance(outcome, Ok):
            responses[outcome.status] = _success(outcome)
        else:
            _add_error(responses, outcome)
    return responses


def _success(outcome: Ok) -> dict[str, Any]:
    schema = SCHEMAS[outcome.schema]
    example = outcome.example if outcome.example is not None else schema["example"]
    response: dict[str, Any] = {
        "description": outcome.description or schema.get("description") or _STATUS_TEXT.get(outcome.status, "Success"),
        "content": {outcome.media_type: {"schema": ref(outcome.schema), "example": example}},
    }
    if outcome.headers:
        response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in outcome.headers}
    if outcome.links:
        response["x-inboxd-links"] = outcome.links
    return response


def _add_error(responses: dict[int, dict[str, Any]], error: ApiError) -> None:
    body = {**error.body(), "requestId": EXAMPLE_REQUEST_ID}
    entry = responses.setdefault(error.status, {
        "description": _STATUS_TEXT.get(error.status, "Error"),
        "content": {JSON_TYPE: {"schema": ref("Error"), "examples": {}}},
    })
    entry["content"][JSON_TYPE]["examples"].setdefault(error.code, {"summary": error.message, "value": body})
    for name in error.headers:
        entry.setdefault("headers", {})[name] = {"$ref": f"#/components/headers/{name}"}


# ----------------------------------------------------------------------------- the whole document

def _common_errors(method: str, operation: dict[str, Any], *, rate_limited: bool) -> list[ApiError]:
    errors: list[ApiError] = []
    body = operation.get("requestBody", {}).get("content", {})
    # Path parameters are plain strings (a wrong one is a 404); query and header values are checked.
    if body or any(p.get("in") != "path" for p in operation.get("parameters", [])):
        errors.append(InvalidRequest("The request is invalid: query.limit: Input should be less than or equal to "
                                     "1000.", details=[problem("query.limit", "Input should be less than or equal to 1000")]))
    security = operation.get("security")
    if security:
        errors.append(Unauthorized())
        if any(scopes for requirement in security for scopes in requirement.values()):
            errors.append(Forbidden("The API token lacks the scopes this endpoint requires: View all chats.",
                                    details=[{"scope": "View all chats", "reason": "missing scope"}]))
    if body or method in ("post", "put", "patch"):
        errors.append(PayloadTooLarge("The request body is larger than the limit of 1048576 bytes for this endpoint."))
    if JSON_TYPE in body:
        errors.append(UnsupportedMediaType("The body must be JSON, sent with Content-Type: application/json.",
                                           details=[problem("header.Content-Type", "must be application/json")]))
    if rate_limited:
        errors.append(RateLimited("Too many requests for this token: at most 100 at once and 50 a second. "
                                  "Try again in 1 s.", headers={"Retry-After": "1"}))
    errors.append(internal_error())
    return errors


def finish(document: dict[str, Any], *, rate_limited_path: Callable[[str], bool] | None) -> dict[str, Any]:
    """Complete FastAPI's `document`: common errors, headers, components, links.
    `rate_limited_path(path) -> bool` tells where the rate limiter runs (None: nowhere)."""
    operation_ids: dict[str, list[str]] = {}  # link targets are operations' summaries
    for item in document.get("paths", {}).values():
        for operation in item.values():
            operation_ids.setdefault(operation.get("summary", ""), []).append(operation.get("operationId", ""))
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for name, schema in SCHEMAS.items():
        schemas[name] = {k: v for k, v in schema.items() if k != "example"}
    for name, model in BODY_MODELS.items():
        # Rendered as FastAPI renders a body parameter's model, so the request side reads the same.
        body_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in {**body_schema.pop("$defs", {}), name: body_schema}.items():
            schemas.setdefault(def_name, jsonable_encoder(Schema(**definition), by_alias=True, exclude_none=True))
    components["headers"] = copy.deepcopy(HEADERS)
    for path, item in document.get("paths", {}).items():
        limited = rate_limited_path is not None and rate_limited_path(path)
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            validation = responses.get("422", {}).get("content", {}).get(JSON_TYPE, {}).get("schema", {})
            if validation.get("$ref", "").endswith("/HTTPValidationError"):
                del responses["422"]
            for status, response in list(responses.items()):
                if ANSWER_KEY in response:  # declared next to the route: the declaration, whole
                    responses[status] = copy.deepcopy(_DECLARED[response[ANSWER_KEY]])
            for code, response in _responses(_common_errors(method, operation, rate_limited=limited)).items():
                responses.setdefault(str(code), response)
            for status, response in responses.items():
                _finish_response(response, limited=limited and status != "500", operation_ids=operation_ids)
    return document


def install(app: FastAPI, *, rate_limited_path: Callable[[str], bool] | None) -> None:
    """Serve `app`'s document finished by `finish` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if not app.openapi_schema:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = finish(document, rate_limited_path=rate_limited_path)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _finish_response(response: dict[str, Any], *, limited: bool, operation_ids: dict[str, list[str]]) -> None:
    headers = response.setdefault("headers", {})
    headers["X-Request-Id"] = {"$ref": "#/components/headers/X-Request-Id"}
    if limited:
        headers.setdefault("RateLimit-Policy", {"$ref": "#/components/headers/RateLimit-Policy"})
        headers.setdefault("RateLimit", {"$ref": "#/components/headers/RateLimit"})
    links: dict[str, Link] = response.pop("x-inboxd-links", {})
    if links:
        response["links"] = {}
        for name, spec in links.items():
            found = operation_ids.get(spec.target, [])
            if len(found) != 1:
                raise ValueError(f"link {name!r}: {len(found)} operations have the summary {spec.target!r}")
            response["links"][name] = {"operationId": found[0], "parameters": spec.parameters,
                                       **({"description": spec.description} if spec.description else {})}
