"""The `request` action: an HTTP request to the subscriber's URL whose JSON body is the rendered
`params.data` template — for Texter's subscription templates, `{"eventName", "eventData"}`.

The URL and headers are literal (checked once, at import); only the body takes placeholders,
resolved when the event happens, so every attempt of a delivery sends the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from inboxd.domain.errors import Problems
from inboxd.events.params import Kind, Param, PlaceholderScope
from inboxd.events.placeholders import render

METHODS = ("post", "put", "patch")
MAX_URL_LENGTH = 2048
MAX_HEADERS = 20
MAX_HEADER_VALUE = 4096
# Parameters Texter's request action has that change nothing here (they concern a bot's state).
IGNORED_PARAMS = frozenset({"keepResponse", "parse"})
# Set by inboxd on every delivery; a scenario cannot replace them.
RESERVED_HEADERS = frozenset({"content-type", "content-length", "host", "transfer-encoding", "connection", "user-agent"})
RESERVED_PREFIX = "x-inboxd-"
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")


@dataclass(frozen=True)
class RenderedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: str
    event_name: str | None


@dataclass(frozen=True)
class RequestAction:
    url: str
    method: str
    headers: dict[str, str]
    data: Any
    providers: frozenset[str]

    def render(self, values: Mapping[str, Any]) -> RenderedRequest:
        body = render(self.data, values)
        name = body.get("eventName") if isinstance(body, dict) else None
        return RenderedRequest(
            method=self.method,
            url=self.url,
            headers=dict(self.headers),
            body=orjson.dumps(body).decode(),
            event_name=name[:255] if isinstance(name, str) else None,
        )


def check_url(raw: Any, path: str, problems: Problems) -> str | None:
    """The subscriber URL: absolute http(s), literal. None (with the problem) if not."""
    if raw is None:
        problems.add(path, "missing: the URL of your receiver (http or https)")
        return None
    if not isinstance(raw, str) or not raw.strip():
        problems.add(path, "must be the URL of your receiver (http or https)")
        return None
    raw = raw.strip()
    if "{{" in raw:
        problems.add(path, f"still has a template placeholder ({raw[:80]!r}): put the URL of your receiver here")
        return None
    if "%" in raw and re.search(r"%[A-Za-z_][A-Za-z0-9_]*:", raw):
        problems.add(path, "placeholders are not supported in the URL")
        return None
    if len(raw) > MAX_URL_LENGTH:
        problems.add(path, f"longer than {MAX_URL_LENGTH} characters")
        return None
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        problems.add(path, f"not a valid URL ({exc})")
        return None
    if url.scheme not in ("http", "https"):
        problems.add(path, f"must be an http or https URL (scheme: {url.scheme or 'none'})")
        return None
    if not url.host:
        problems.add(path, "the URL has no host")
        return None
    return str(url)


def check_headers(raw: Any, path: str, problems: Problems) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(path, "must be an object of header names to string values")
        return {}
    if len(raw) > MAX_HEADERS:
        problems.add(path, f"at most {MAX_HEADERS} headers")
        return {}
    headers: dict[str, str] = {}
    for name, value in raw.items():
        where = f"{path}.{name}"
        lowered = name.lower()
        if not _TOKEN.match(name):
            problems.add(where, "not a valid header name")
        elif lowered in RESERVED_HEADERS or lowered.startswith(RESERVED_PREFIX):
            problems.add(where, "set by inboxd on every delivery; it cannot be replaced")
        elif not isinstance(value, str) or len(value) > MAX_HEADER_VALUE or any(c in value for c in "\r\n\0"):
            problems.add(where, f"must be a string of at most {MAX_HEADER_VALUE} characters, on one line")
        else:
            headers[name] = value
    return headers


def check_method(raw: Any, path: str, problems: Problems) -> str:
    if raw is None:
        return "post"
    if not isinstance(raw, str) or raw.lower() not in METHODS:
        problems.add(path, f"must be one of {', '.join(METHODS)} (an event is a request body)")
        return "post"
    return raw.lower()


# --- the kinds, as the validator compiles them ----------------------------------------------


def _compile_request(
    params: dict[str, Any], path: str, scope: PlaceholderScope, problems: Problems
) -> tuple[dict[str, Any], RequestAction] | None:
    url = check_url(params.get("url"), f"{path}.url", problems)
    method = check_method(params.get("method"), f"{path}.method", problems)
    headers = check_headers(params.get("headers"), f"{path}.headers", problems)
    if params.get("json", True) is not True:
        problems.add(f"{path}.json", "must be true: events are sent as JSON")
    providers = scope.check(params["data"], f"{path}.data", problems)
    if url is None or providers is None:
        return None
    stored = {k: v for k, v in params.items() if k not in IGNORED_PARAMS}
    stored.update(url=url, method=method, json=True)
    return stored, RequestAction(url, method, headers, params["data"], providers)


@dataclass(frozen=True, kw_only=True)
class ActionKind(Kind):
    # The stored parameters and the action (parameters already checked against `params`), or
    # None with the problems added; `path` is the parameters' path.
    compile: Callable[[dict[str, Any], str, PlaceholderScope, Problems], tuple[dict[str, Any], RequestAction] | None]


ACTIONS: dict[str, ActionKind] = {
    "request": ActionKind(
        description="An HTTP request to your receiver whose JSON body is params.data with its placeholders "
                    "resolved when the event happens; signed (X-Inboxd-Signature) and retried (docs/events.md).",
        params=(
            Param("url", "the URL of your receiver (http or https), literal", required=True),
            Param("method", "the HTTP method", values=METHODS, default="post"),
            Param("json", "must be true: events are sent as JSON", default=True),
            Param("data", "the request body, e.g. {eventName, eventData}", required=True, placeholders=True),
            Param("headers", "extra headers, literal strings (Content-Type, User-Agent, Host and X-Inboxd-* are "
                             "inboxd's)"),
            *(Param(name, "accepted for Texter's templates; means nothing here") for name in sorted(IGNORED_PARAMS)),
        ),
        example={"name": "request", "params": {
            "url": "https://crm.example.com/inboxd", "method": "post", "json": True,
            "data": {"eventName": "newMessage", "eventData": {"message": {"##provide": {
                "provider": "message", "key": "message"}}}}}},
        compile=_compile_request,
    ),
}
