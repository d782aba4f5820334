"""The hot routes, answered without FastAPI's per-request machinery (docs/ARCHITECTURE.md, "Hot
paths").

A route's module registers its endpoint with a handler that takes the request as it comes
(`hot(send_message, _send_fast)`); the route itself stays declared with FastAPI, so the OpenAPI
document, the contract tests and every other route do not change. `HotRoutes` matches the
registered routes' method and path itself (`match`), and `api.app.InboxdApp` sends a request it
matches to a stack of its own: the same edge middleware as every other request (`api.middleware.edge`:
request id, rate limit, access line, metrics, the JSON 500; the body limit) around `HotRoutes`
as the app, and none of FastAPI's and Starlette's layers (ServerErrorMiddleware, FastAPI's
telemetry and body-limit wrappers, the exception middleware, the router). `HotRoutes` then does
what FastAPI would have done for the route: the scopes the route's `require(...)` declares (read
off the route, not repeated), the path parameters, `scope["route"]` for the metrics and access
line, the error mapper's bodies for `ApiError`, a validation error and an HTTP error (the body
limit's 413). The endpoint's work is shared: the FastAPI endpoint and the fast handler call the
same function. What FastAPI costs per request on these paths — dependency solving (a sync
dependency runs in a thread), routing through every route's regex, the response model pass, its
outer layers — was ~40 % of a Send a Message's CPU (bench/, scenario 1's profile).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import routing as fastapi_routing
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path

from inboxd.api.deps import authenticated
from inboxd.api.errors import error_response, http_error, validation_error
from inboxd.domain.errors import ApiError
from inboxd.domain.scopes import Scope

Handler = Callable[..., Awaitable[Response]]  # (request, services, **path_params) -> response

_HOT: dict[Callable[..., Any], Handler] = {}


def hot(endpoint: Callable[..., Any], handler: Handler) -> None:
    """Answer `endpoint`'s route with `handler(request, services, **path_params)` instead."""
    _HOT[endpoint] = handler


def _operations(routes: list[Any]) -> Iterator[tuple[Any, str, set[str], Any, dict[str, Any] | None]]:
    """(route as FastAPI puts it in `scope["route"]`, full path, methods, endpoint, openapi_extra)
    of every API route: FastAPI ≥ 0.16x keeps included routers apart (`iter_route_contexts`
    walks them), older ones copy their routes into the app's list with the full path."""
    walk = getattr(fastapi_routing, "iter_route_contexts", None)
    if walk is None:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route, route.path, route.methods, route.endpoint, route.openapi_extra
        return
    for context in walk(routes):
        original = context.original_route
        if isinstance(original, APIRoute) and context.path:
            yield original, context.path, context.methods or set(), context.endpoint, context.openapi_extra


# Where `match` leaves the matched route for `HotRoutes.__call__` (the edge middleware in between).
_MATCH = "inboxd.hot_route"

Entry = tuple[Any, Any, tuple[Scope, ...] | None, Handler]  # (path regex, route, scopes, handler)


class HotRoutes:
    """The ASGI app of the hot routes: `match` a request first (`InboxdApp` asks), then call it."""

    def __init__(self, *, routes: list[Any], services: Any) -> None:
        self._routes = routes
        self._services = services
        self._table: dict[str, list[Entry]] | None = None

    def _build(self) -> dict[str, list[Entry]]:
        table: dict[str, list[Entry]] = {}
        for route, path, methods, endpoint, extra in _operations(self._routes):
            if endpoint not in _HOT:
                continue
            declared = (extra or {}).get("x-required-scopes")  # absent: a route without require()
            scopes = None if declared is None else tuple(Scope(s) for s in declared)
            regex = compile_path(path)[0]
            for method in methods:
                table.setdefault(method, []).append((regex, route, scopes, _HOT[endpoint]))
        return table

    def match(self, scope: dict[str, Any]) -> bool:
        """Whether an http request is one of the hot routes' (then this app answers it). Built on
        first use: every router, the test-only ones too, is included by then."""
        table = self._table
        if table is None:
            table = self._table = self._build()
        for regex, route, scopes, handler in table.get(scope["method"], ()):
            found = regex.match(scope["path"])
            if found is not None:
                scope[_MATCH] = (route, scopes, handler, found.groupdict())
                return True
        return False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        route, scopes, handler, params = scope.pop(_MATCH)
        scope["route"] = route
        scope["path_params"] = params
        request = Request(scope, receive, send)
        try:
            if scopes is not None:
                await authenticated(request, scopes)  # a token or a session (and its CSRF check)
            response = await handler(request, self._services, **params)
        except ApiError as exc:
            response = error_response(exc)
        except RequestValidationError as exc:
            response = error_response(validation_error(exc))
        except HTTPException as exc:
            response = error_response(http_error(request, exc))
        await response(scope, receive, send)
