"""ASGI middleware, outermost first: `RequestMiddleware` (request id, the rate limit — 429
before any work —, access line, metrics, the last resort for an unexpected error) and
`BodyLimitMiddleware` (413 before the body is read into memory), put together once by `edge`
for both of the app's stacks (FastAPI's, and the hot routes', `api.app.InboxdApp`). Plain ASGI,
not BaseHTTPMiddleware, to stay off the hot path: each costs a few function calls per request."""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.exceptions import HTTPException

from inboxd import metrics
from inboxd.agents.sessions import SessionCache
from inboxd.api.auth import TokenCache, principal
from inboxd.api.errors import error_body, internal_error
from inboxd.api.limiter import RateLimiter
from inboxd.domain.errors import ApiError, InvalidRequest, PayloadTooLarge, RateLimited, database_unavailable, problem
from inboxd.domain.ids import new_id
from inboxd.domain.rate_limits import Policy, policy_header, state_header, state_values
from inboxd.logs import REQUEST_ID
from inboxd.store.db import DatabaseUnavailable

log = logging.getLogger(__name__)
access_log = logging.getLogger("inboxd.access")

REQUEST_ID_HEADER = b"x-request-id"
# A client's own request id is kept when it is 1-128 of these characters; otherwise ours replaces it.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._~:+/=-]{1,128}")
# Never rate-limited: Meta's webhooks (Meta retries, and a refused webhook is a delayed message),
# the health check, and the simulator (a test double that inboxd's own workers call).
UNLIMITED_PREFIXES = ("/webhooks/", "/healthz", "/simulator")


async def send_error(send: Any, error: ApiError) -> None:
    """An error answered by a middleware, in the same body as the error mapper's."""
    body = orjson.dumps(error_body(error))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestMiddleware:
    """Every answer carries `X-Request-Id` (the client's, when valid, else a new id), which the
    request's log lines and error bodies carry too; one access line and the metrics per request.
    An exception nothing else handled becomes a JSON 500 here, and the connection stays usable."""

    def __init__(self, app: Any, *, access_log: bool = True, limits: RateLimits | None = None) -> None:
        self.app = app
        self.access_log = access_log
        self.limits = limits

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                given = value.decode("latin-1")
                request_id = given if REQUEST_ID_PATTERN.fullmatch(given) else None
                break
        request_id = request_id or new_id()
        context = REQUEST_ID.set(request_id)
        extra = [(REQUEST_ID_HEADER, request_id.encode())]
        start = time.perf_counter()
        status = 0

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            refusal = None
            if self.limits is not None and not scope["path"].startswith(UNLIMITED_PREFIXES):
                limit_headers, refusal = await self.limits.check(scope)
                extra += limit_headers
            if refusal is not None:
                await send_error(sending, refusal)
            else:
                await self.app(scope, receive, sending)
        except DatabaseUnavailable as exc:  # a route's, or the limiter's token lookup: 503 (Meta retries a webhook)
            log.warning("database unavailable on %s %s: %s", scope["method"], _route(scope), exc)
            if status:
                raise
            status = 503
            await send_error(sending, database_unavailable())
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], _route(scope))
            if status:  # the answer has begun: nothing valid can follow (the server closes the connection)
                raise
            status = 500
            await send_error(sending, internal_error())
        finally:
            route = _route(scope)
            elapsed = time.perf_counter() - start
            metrics.record_request(scope["method"], route, status, elapsed)
            if self.access_log and access_log.isEnabledFor(logging.INFO):
                duration_ms = round(elapsed * 1000, 2)
                access_log.info(
                    "%s %s %s %.2f ms", scope["method"], route, status, duration_ms,
                    extra={"method": scope["method"], "route": route, "status": status, "duration_ms": duration_ms},
                )
            REQUEST_ID.reset(context)


def _route(scope: dict[str, Any]) -> str:
    """The matched route's template (`/server/api/v2/messages/send/{chatId}`): never the path's
    values. FastAPI keeps an included router's prefix apart from its routes' own paths; the
    prefix is the leading segments of the path that the template does not account for."""
    template = getattr(scope.get("route"), "path", None)
    if not template:
        return "unmatched"
    path = scope["path"]
    extra = path.count("/") - template.count("/")
    if extra > 0:
        cut = -1
        for _ in range(extra + 1):
            cut = path.find("/", cut + 1)
        template = path[:cut] + template
    return template


class RateLimits:
    """The limit of the caller (`auth.principal`), checked by `RequestMiddleware` (one layer, not
    two, on the hot path): 429 `rate_limited` with `Retry-After` past it, and the draft's
    `RateLimit-Policy` / `RateLimit` headers on every limited answer."""

    def __init__(self, limiter: RateLimiter, tokens: TokenCache, default: Policy,
                 sessions: SessionCache | None = None) -> None:
        self.limiter = limiter
        self.tokens = tokens
        self.sessions = sessions
        self.default = default
        self._headers: dict[tuple[str, Policy], _LimitHeaders] = {}

    async def check(self, scope: dict[str, Any]) -> tuple[list[tuple[bytes, bytes]], RateLimited | None]:
        """The headers for the answer, and the refusal when the caller is past its limit."""
        kind, key, policy = await principal(scope, self.tokens, self.default, self.sessions)
        allowed, budget = await self.limiter.take(f"{kind}:{key}", policy)
        now = time.monotonic()
        lines = self._headers.get((kind, policy))
        if lines is None:  # the same few policies over and over
            if len(self._headers) >= _LimitHeaders.MAX_KEPT:
                self._headers.clear()
            lines = self._headers[(kind, policy)] = _LimitHeaders(kind, policy)
        headers = [lines.policy, lines.state(budget.level(now))]
        if allowed:
            return headers, None
        wait = budget.retry_after(now)
        return headers, RateLimited(
            f"Too many requests for this {kind}: at most {policy.burst} at once and {policy.rate:g} a second. "
            f"Try again in {wait} s.",
            headers={"Retry-After": str(wait)},
        )


class _LimitHeaders:
    """The header lines of one (kind, policy), encoded once: `RateLimit-Policy`, and `RateLimit`
    per (units left, seconds until full) — a principal's level takes few distinct values, and
    formatting them was most of the limiter's cost per request. The policy is part of the key,
    so a token whose limit changed gets its new lines."""

    MAX_KEPT = 4096  # (kind, policy) pairs, and states of one pair, before starting again empty
    __slots__ = ("kind", "_policy", "policy", "_states")

    def __init__(self, kind: str, policy: Policy) -> None:
        self.kind = kind
        self._policy = policy
        self.policy = (b"ratelimit-policy", policy_header(kind, policy).encode())
        self._states: dict[tuple[int, int], tuple[bytes, bytes]] = {}

    def state(self, level: float) -> tuple[bytes, bytes]:
        values = state_values(self._policy, level)
        line = self._states.get(values)
        if line is None:
            if len(self._states) >= self.MAX_KEPT:
                self._states.clear()
            line = self._states[values] = (b"ratelimit", state_header(self.kind, *values).encode())
        return line


MiB = 1024 * 1024

# Longest matching prefix wins.
BODY_LIMITS: list[tuple[str, int]] = sorted(
    [
        ("/", 1 * MiB),
        ("/webhooks/", 8 * MiB),  # Meta's payloads are ≤ 3 MB
        ("/server/api/v2/files", 101 * MiB),  # uploads: WhatsApp documents go to 100 MB
        ("/simulator/", 101 * MiB),
    ],
    key=lambda item: -len(item[0]),
)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes for this endpoint.")


def body_limit(path: str) -> int:
    for prefix, limit in BODY_LIMITS:  # a loop, not a generator: once per request
        if path.startswith(prefix):
            return limit
    raise ValueError(f"no body limit for {path!r}")  # not an ASGI path: they all start with "/"


def repeated_query_parameters(scope: dict[str, Any]) -> InvalidRequest | None:
    """A query parameter given more than once where the API takes one value (found by fuzzing:
    `channel[accountId]=a&channel[accountId]=b` searched for the last one, silently). Texter's
    list parameters are the ones named `…[]` (`labels[]`, `statuses[]`)."""
    if not scope["query_string"] or not scope["path"].startswith("/server/"):
        return None
    seen: set[str] = set()
    repeated: list[str] = []
    for name, _ in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        if name in seen and not name.endswith("[]") and name not in repeated:
            repeated.append(name)
        seen.add(name)
    if not repeated:
        return None
    return InvalidRequest(
        f"The query gives {', '.join(repeated)} more than once; it takes one value.",
        details=[problem(f"query.{name}", "given more than once") for name in repeated],
    )


class BodyLimitMiddleware:
    """The request's shape before the app reads it: one value per singular query parameter (400),
    the body's size (413, before it is read into memory)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        repeated = repeated_query_parameters(scope)
        if repeated is not None:
            await send_error(send, repeated)
            return
        limit = body_limit(scope["path"])
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await send_error(send, _too_large(limit))
                    return
        received = 0

        async def limited_receive() -> dict[str, Any]:
            # A body without (or lying about) Content-Length: stop reading at the limit. The
            # HTTPException reaches the error mapper as a 413.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, detail=_too_large(limit).message)
            return message

        await self.app(scope, limited_receive, send)


def edge(app: Any, *, access_log: bool = True, limits: RateLimits | None = None) -> RequestMiddleware:
    """The middleware every request of the API passes, around `app`: one definition for FastAPI's
    stack (as its one user middleware) and the hot routes' (`api.app.InboxdApp`)."""
    return RequestMiddleware(BodyLimitMiddleware(app), access_log=access_log, limits=limits)
