"""`inboxd serve`."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn

from inboxd.api.app import create_app
from inboxd.cli.common import settings, setup_logging
from inboxd.store.db import Database
from inboxd.store.migrate import migrate


def run_server(*, host: str | None, port: int | None) -> None:
    cfg = settings()
    setup_logging(cfg.log_level, cfg.log_format)
    host = host or cfg.host
    port = port or cfg.port

    async def prepare() -> None:
        db = Database(cfg.resolved_database_url, schema=cfg.database_schema)
        try:
            await migrate(db)
        finally:
            await db.dispose()

    asyncio.run(prepare())
    extra: dict[str, Any] = {}
    if cfg.simulator:  # the embedded default: the simulator and the sandbox account wired to it
        from inboxd.simulator.sandbox import embedded, loopback_url

        sandbox = embedded(loopback_url(host, port))
        extra = {"extra_routers": sandbox.routers, "startup_hooks": sandbox.startup_hooks}
    app = create_app(cfg, **extra)
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level=cfg.log_level,
        log_config=None,  # uvicorn's lines go through our handler (format, request ids)
        access_log=False,  # ours is `inboxd.access` (route templates, never the query)
        timeout_graceful_shutdown=10,
    )
