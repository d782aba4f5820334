"""The one error mapper: every failure leaves as the JSON body of DESIGN.md §2, with the
request's id (`requestId`, additive) so a user can report one failure.

An unexpected exception is not handled here but by `api.middleware.RequestMiddleware` (with
`internal_error`), the outermost of our middleware on both of the app's stacks (`api.app.InboxdApp`):
on FastAPI's it sits inside Starlette's ServerErrorMiddleware, which would re-raise after answering,
and uvicorn would then close the keep-alive connection, failing the client's next request too."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from inboxd.api.responses import JSON
from inboxd.domain.errors import ApiError, json_path
from inboxd.logs import REQUEST_ID

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_body(error: ApiError) -> dict[str, Any]:
    return {**error.body(), "requestId": REQUEST_ID.get()}


def error_response(error: ApiError) -> JSON:
    return JSON(error_body(error), status_code=error.status, headers=error.headers)


def internal_error() -> ApiError:
    error = ApiError("Internal server error; the details are in the server log.", code="internal_error")
    error.status = 500
    return error


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


def validation_error(exc: RequestValidationError) -> ApiError:
    details = _validation_details(exc)
    summary = "; ".join(f"{d['path']}: {d['reason']}" for d in details[:3])
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    return ApiError(f"The request is invalid: {summary}{more}.", details=details)


def http_error(request: Request, exc: StarletteHTTPException) -> ApiError:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    error = ApiError(str(exc.detail), code=code, headers=headers)
    error.status = exc.status_code
    return error


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSON:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSON:
        return error_response(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSON:
        return error_response(http_error(request, exc))


def allowed_methods(request: Request) -> str | None:
    """The methods the document gives this path (found by fuzzing: Starlette's 405 named only the
    first route's, e.g. `Allow: PATCH` where the template also takes DELETE). As in OpenAPI, a
    concrete path is matched before a templated one (`/scenarios/manage/import` is not one of
    `/scenarios/manage/{scenarioId}`)."""
    app = request.app
    table = getattr(app.state, "allow_table", None)
    if table is None:
        paths = app.openapi().get("paths", {})
        table = app.state.allow_table = [
            (compile_path(path)[0], path.count("{"), {m.upper() for m in item}) for path, item in paths.items()
        ]
    matching = [(params, methods) for pattern, params, methods in table if pattern.match(request.url.path)]
    if not matching:
        return None
    fewest = min(params for params, _ in matching)
    return ", ".join(sorted({m for params, methods in matching if params == fewest for m in methods}))
