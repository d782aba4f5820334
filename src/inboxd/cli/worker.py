"""`inboxd worker`: delivery and inbound workers without the HTTP API, for scaling out. Any
number of these can run beside any number of `inboxd serve` processes on one PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import signal

from inboxd.cli.common import migrate_configured, settings, setup_logging
from inboxd.services import Services
from inboxd.shutdown import FINISH_SHARE

log = logging.getLogger("inboxd.worker")


def run_worker(loops: int | None) -> None:
    cfg = settings()
    setup_logging(cfg.log_level, cfg.log_format)
    migrate_configured(cfg)

    async def main() -> None:
        services = Services.build(cfg)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        count = loops if loops is not None else max(1, cfg.workers)
        services.start_workers(count)
        log.info("worker running: %d delivery and %d inbound loops on %s", count, count, services.db.dialect)
        await stop.wait()
        log.info("stopping: finishing the work in flight for up to %g s, then giving the rest back",
                 cfg.shutdown_seconds * FINISH_SHARE)
        await services.aclose()
        log.info("stopped")

    asyncio.run(main())
