"""The FastAPI application: routers, middleware, the error mapper, background workers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

import inboxd.api.routes.channel_health as channel_health_routes
import inboxd.api.routes.quick_replies as quick_reply_routes
import inboxd.api.routes.scenarios as scenario_routes
from inboxd import __version__, web
from inboxd.api import contract, errors
from inboxd.api.deps import BEARER_SCHEME, SESSION_SCHEME
from inboxd.api.hot import HotRoutes
from inboxd.api.middleware import UNLIMITED_PREFIXES, BodyLimitMiddleware, RateLimits, RequestMiddleware
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
) -> FastAPI:
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

    app = FastAPI(
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
    # Outermost last: request id, rate limit and access line, then the body limit, then the hot
    # routes (api/hot.py), which answer a few routes without FastAPI's per-request machinery.
    app.add_middleware(HotRoutes, routes=app.routes, services=services)
    app.add_middleware(BodyLimitMiddleware)
    limits = (RateLimits(services.limiter, services.tokens, default_policy(settings), services.sessions)
              if settings.rate_limits else None)
    app.add_middleware(RequestMiddleware, access_log=settings.access_log, limits=limits)
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
