"""ASGI middleware: request-body size limits (413 before the body is read into memory) and
request metrics. Plain ASGI, not BaseHTTPMiddleware, to stay off the hot path."""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.exceptions import HTTPException

from inboxd import metrics
from inboxd.domain.errors import PayloadTooLarge

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
    return next(limit for prefix, limit in BODY_LIMITS if path.startswith(prefix))


class BodyLimitMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._reject(send, limit)
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

    @staticmethod
    async def _reject(send: Any, limit: int) -> None:
        error = _too_large(limit)
        body = orjson.dumps(error.body())
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class MetricsMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            metrics.http_requests.labels(scope["method"], name, str(status)).inc()
            metrics.http_latency.labels(name).observe(time.perf_counter() - start)
