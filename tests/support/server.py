"""Serve an inboxd app (or any ASGI app) over real HTTP on a free loopback port, inside the
test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from inboxd.api.app import create_app
from inboxd.config import Settings
from inboxd.services import Services
from inboxd.store.db import Database


@dataclass
class LiveServer:
    url: str
    port: int
    app: Any
    services: Services | None = None


@asynccontextmanager
async def serve_asgi(app: Any, host: str = "127.0.0.1") -> AsyncIterator[tuple[str, int]]:
    config = uvicorn.Config(app, host=host, port=0, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raise whatever stopped it
            raise RuntimeError("server stopped before starting")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}", port
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def start_server(settings: Settings, db: Database, **app_kwargs: Any) -> AsyncIterator[LiveServer]:
    services = Services.build(settings, db=db)
    app = create_app(settings, services=services, **app_kwargs)
    async with serve_asgi(app) as (url, port):
        yield LiveServer(url=url, port=port, app=app, services=services)
