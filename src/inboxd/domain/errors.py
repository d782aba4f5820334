"""Every error inboxd answers with, in one place: its HTTP status and its `code`.

The API turns an `ApiError` into the body of DESIGN.md §2:
`{"success": false, "error": "<sentence>", "code": "<snake_case>", "details": [...]}`
plus any `extra` fields (additive, e.g. `lastIncomingMessageTimestamp`).
"""

from __future__ import annotations

from typing import Any


def problem(path: str, reason: str, **more: Any) -> dict[str, Any]:
    """One entry of `details`: where (a dotted JSON path such as `body.buttons[0].title`) and why."""
    return {"path": path, "reason": reason, **more}


def json_path(parts: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


MAX_DETAILS = 100  # a 1 MiB body could hold hundreds of thousands of problems


class Problems:
    """Every problem of a request body, each with its JSON path, reported together."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, path: str, reason: str) -> None:
        self.items.append(problem(path, reason))

    def __bool__(self) -> bool:
        return bool(self.items)

    def error(self, what: str, *, code: str = "invalid_request") -> InvalidRequest:
        count = len(self.items)
        details = self.items[:MAX_DETAILS]
        if count > MAX_DETAILS:
            details.append(problem("body", f"{count - MAX_DETAILS} more problems not listed"))
        first = self.items[0]
        more = f" (and {count - 1} more problem{'s' if count > 2 else ''}, see details)" if count > 1 else ""
        return InvalidRequest(f"{what}: {first['path']}: {first['reason']}{more}.", code=code, details=details)

    def raise_if_any(self, what: str, *, code: str = "invalid_request") -> None:
        if self.items:
            raise self.error(what, code=code)


class ApiError(Exception):
    status: int = 400
    code: str = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"success": False, "error": self.message, "code": self.code, "details": self.details, **self.extra}


class InvalidRequest(ApiError):
    status, code = 400, "invalid_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str = "A valid API token is required (Authorization: Bearer <token>).", **kw: Any):
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="inboxd"'})
        super().__init__(message, **kw)


class Forbidden(ApiError):
    status, code = 403, "missing_scopes"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class RuleRefused(ApiError):
    status, code = 422, "rule_refused"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class ChannelRejected(ApiError):
    status, code = 502, "channel_rejected"


class ChannelUnavailable(ApiError):
    status, code = 503, "channel_unavailable"


class Unavailable(ApiError):
    status, code = 503, "service_unavailable"


def database_unavailable() -> Unavailable:
    """The database is out of reach (restart, failover, network): nothing was done; try again."""
    return Unavailable(
        "The database is unavailable; nothing was done. Try again in a few seconds.",
        code="database_unavailable",
        headers={"Retry-After": "5"},
    )


def chat_not_found(chat_id: str) -> NotFound:
    return NotFound(f"No chat with id {chat_id!r}.", code="chat_not_found")


def file_not_found(file_id: str) -> NotFound:
    return NotFound(f"No file with id {file_id!r}.", code="file_not_found")


def agent_not_found(uid: str) -> NotFound:
    return NotFound(f"No agent with uid {uid!r}.", code="agent_not_found")


def department_not_found(department_id: str) -> NotFound:
    return NotFound(f"No department with id {department_id!r}.", code="department_not_found")
