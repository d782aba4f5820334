"""`inboxd serve`."""

from __future__ import annotations

import asyncio

import uvicorn

from inboxd.api.app import create_app
from inboxd.cli.common import settings, setup_logging
from inboxd.store.db import Database
from inboxd.store.migrate import migrate


def run_server(*, host: str | None, port: int | None) -> None:
    cfg = settings()
    setup_logging(cfg.log_level)
    host = host or cfg.host
    port = port or cfg.port

    async def prepare() -> None:
        db = Database(cfg.resolved_database_url, schema=cfg.database_schema)
        try:
            await migrate(db)
        finally:
            await db.dispose()

    asyncio.run(prepare())
    app = create_app(cfg)
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level=cfg.log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
