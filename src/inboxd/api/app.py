"""The FastAPI application: routers, middleware, the error mapper, background workers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.types import Receive, Scope, Send

import inboxd.api.routes.channel_health as channel_health_routes
import inboxd.api.routes.quick_replies as quick_reply_routes
import inboxd.api.routes.scenarios as scenario_routes
from inboxd import __version__, web
from inboxd.api import contract, errors
from inboxd.api.deps import BEARER_SCHEME, SESSION_SCHEME
from inboxd.api.hot import HotRoutes
from inboxd.api.middleware import UNLIMITED_PREFIXES, RateLimits, edge
from inboxd.api.responses import JSON
from inboxd.api.routes import agents as agent_routes
from inboxd.api.routes import auth as auth_routes
from inboxd.api.routes import channels as channel_routes
from inboxd.api.routes import (
    chat_lifecycle,
    chats,
    files,
    health,
    live,
    messages,
    send,
    templates,
    uploads,
    webhooks_whatsapp,
)
from inboxd.api.routes import labels as label_routes
from inboxd.api.routes import tokens as token_routes
from inboxd.api.routes import unread as unread_routes
from inboxd.config import Settings, default_policy
from inboxd.services import Services

log = logging.getLogger(__name__)

API_PREFIX = "/server/api/v2"

# Extra things to do at start and stop (the simulator and the sandbox account plug in here).
StartupHook = Callable[[FastAPI, Services], Any]


class InboxdApp(FastAPI):
    """FastAPI, with a second stack beside its own for the hot routes (api/hot.py, ARCHITECTURE
    "Hot paths"): an http request `HotRoutes` matches goes through `edge(HotRoutes)` — the same
    request id, rate limit, access line, metrics, JSON 500 and body limit as every request — and
    none of FastAPI's and Starlette's layers (ServerErrorMiddleware, FastAPI's telemetry check and
    body-limit wrapper, the exception middleware, the router): ~9 % of a Send a Message's CPU
    (bench/notes/send.md). FastAPI's own OpenTelemetry hooks (off unless a provider is set up)
    do not see these requests; our metrics and access line do.
    Everything else, the lifespan included, is FastAPI's as before."""

    _hot: HotRoutes | None = None
    _hot_stack: Any = None

    def add_hot_routes(self, hot: HotRoutes, stack: Any) -> None:
        """Answer what `hot` matches with `stack` (the edge middleware around `hot`)."""
        self._hot, self._hot_stack = hot, stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self._hot
        if hot is not None and scope["type"] == "http" and hot.match(scope):
            # What FastAPI's and Starlette's __call__ would have set (`request.app`, a mount's prefix).
            scope["app"] = self
            if self.root_path:
                scope["root_path"] = self.root_path
            await self._hot_stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for module in (chats, messages, send, files, uploads, templates):
        router.include_router(module.router)
    router.include_router(scenario_routes.router)  # event subscriptions (docs/events.md)
    router.include_router(quick_reply_routes.router)  # docs/quick-replies.md
    router.include_router(channel_health_routes.router)  # docs/channel-health.md
    router.include_router(live.router)  # the live stream (docs/live.md)
    # the chat lifecycle, agents and departments (docs/chats.md)
    router.include_router(chat_lifecycle.router)
    router.include_router(agent_routes.router)
    for module in (label_routes, unread_routes):  # labels and unread counts (docs/labels.md)
        router.include_router(module.router)
    router.include_router(auth_routes.router)  # sign-in for the web inbox (docs/sign-in.md)
    router.include_router(token_routes.router)  # API tokens from the web inbox's settings
    router.include_router(channel_routes.router)  # the channel accounts, with their health
    return router


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    workers: int | None = None,
    extra_routers: list[APIRouter] | None = None,
    startup_hooks: list[StartupHook] | None = None,
) -> InboxdApp:
    settings = settings or Settings()
    services = services or Services.build(settings)
    worker_count = settings.workers if workers is None else workers

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for hook in startup_hooks or []:
            result = hook(app, services)
            if hasattr(result, "__await__"):
                await result
        services.start_workers(worker_count)
        try:
            yield
        finally:
            await services.aclose()

    app = InboxdApp(
        title="inboxd",
        version=__version__,
        description=(
            "Self-hosted business messaging inbox server, compatible with the Texter API v2. "
            "Authenticate with `Authorization: Bearer <API token>`; each operation lists the "
            "scopes it requires in `x-required-scopes`."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        default_response_class=JSON,
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.settings = settings
    errors.install(app)
    app.include_router(api_router())
    app.include_router(files.public_router)
    app.include_router(webhooks_whatsapp.router)
    app.include_router(health.router)
    for router in extra_routers or []:
        app.include_router(router)
    web.mount(app)  # the web inbox at / (src/inboxd/web)
    # The edge middleware (request id, rate limit, access line, metrics, body limit) once, around
    # both stacks: FastAPI's, and the hot routes' (api/hot.py), answered without FastAPI.
    limits = (RateLimits(services.limiter, services.tokens, default_policy(settings), services.sessions)
              if settings.rate_limits else None)
    app.add_middleware(edge, access_log=settings.access_log, limits=limits)
    hot = HotRoutes(routes=app.routes, services=services)
    app.add_hot_routes(hot, edge(hot, access_log=settings.access_log, limits=limits))
    # What every operation answers (api/contract.py): the common errors, headers, components, links.
    limited = (lambda path: not path.startswith(UNLIMITED_PREFIXES)) if settings.rate_limits else None
    contract.install(app, rate_limited_path=limited)
    _add_bearer_scheme(app)
    return app


def _add_bearer_scheme(app: FastAPI) -> None:
    finished = app.openapi

    def openapi() -> dict[str, Any]:
        schema = finished()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from `inboxd tokens create`.",
        }
        schema["components"]["securitySchemes"][SESSION_SCHEME] = {
            "type": "apiKey",
            "in": "cookie",
            "name": "inboxd_session",
            "description": "An agent's session (`POST /server/api/v2/auth/login`); unsafe methods also need "
            "`X-CSRF-Token`.",
        }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
