"""The one error mapper: every failure leaves as the JSON body of DESIGN.md §2."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from inboxd.api.responses import JSON
from inboxd.domain.errors import ApiError, database_unavailable, json_path
from inboxd.store.db import DatabaseUnavailable

log = logging.getLogger(__name__)

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(error: ApiError) -> JSON:
    return JSON(error.body(), status_code=error.status, headers=error.headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        # pydantic puts the union member's tag in the path (body.text.…); keep the JSON path only
        reason = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            reason = "The body is not valid JSON: " + str((err.get("ctx") or {}).get("error", "parse error"))
        details.append({"path": json_path(loc), "reason": reason})
    return details


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSON:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSON:
        details = _validation_details(exc)
        summary = "; ".join(f"{d['path']}: {d['reason']}" for d in details[:3])
        more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
        return error_response(ApiError(f"The request is invalid: {summary}{more}.", details=details))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSON:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        error = ApiError(str(exc.detail), code=code, headers=dict(exc.headers or {}))
        error.status = exc.status_code
        return error_response(error)

    @app.exception_handler(DatabaseUnavailable)
    async def _database_down(request: Request, exc: DatabaseUnavailable) -> JSON:
        # A send, a webhook from Meta (which then retries it), any read: 503, never a 500.
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return error_response(database_unavailable())

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSON:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        error = ApiError("Internal server error; the details are in the server log.", code="internal_error")
        error.status = 500
        return error_response(error)
