"""The FastAPI application: routers, middleware, the error mapper, background workers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

import inboxd.api.routes.channel_health as channel_health_routes
import inboxd.api.routes.quick_replies as quick_reply_routes
import inboxd.api.routes.scenarios as scenario_routes
from inboxd import __version__
from inboxd.api import errors
from inboxd.api.deps import BEARER_SCHEME
from inboxd.api.middleware import BodyLimitMiddleware, MetricsMiddleware
from inboxd.api.responses import JSON
from inboxd.api.routes import agents as agent_routes
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
from inboxd.api.routes import unread as unread_routes
from inboxd.config import Settings
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
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(MetricsMiddleware)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from `inboxd tokens create`.",
    }
    app.openapi_schema = schema
    return schema
