"""`inboxd serve`."""

from __future__ import annotations

from types import FrameType
from typing import Any

import uvicorn

from inboxd.api.app import create_app
from inboxd.cli.common import migrate_configured, settings, setup_logging
from inboxd.services import Services
from inboxd.shutdown import FINISH_SHARE


class _Server(uvicorn.Server):
    """uvicorn, with the worker loops told to stop at the SIGTERM itself: they finish their work
    while the HTTP requests drain, instead of only after."""

    services: Services | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self.services is not None:
            self.services.begin_shutdown_threadsafe()


def run_server(*, host: str | None, port: int | None) -> None:
    cfg = settings()
    setup_logging(cfg.log_level, cfg.log_format)
    host = host or cfg.host
    port = port or cfg.port
    migrate_configured(cfg)
    extra: dict[str, Any] = {}
    if cfg.simulator:  # the embedded default: the simulator and the sandbox account wired to it
        from inboxd.simulator.sandbox import embedded, loopback_url

        sandbox = embedded(loopback_url(host, port))
        extra = {"extra_routers": sandbox.routers, "startup_hooks": sandbox.startup_hooks}
    app = create_app(cfg, **extra)
    server = _Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            loop="uvloop",
            http="httptools",
            log_level=cfg.log_level,
            log_config=None,  # uvicorn's lines go through our handler (format, request ids)
            access_log=False,  # ours is `inboxd.access` (route templates, never the query)
            # Requests (a sync send waits up to INBOXD_SEND_WAIT_SECONDS) get the same share of
            # the shutdown as the workers; the rest is for giving work back (inboxd.shutdown).
            timeout_graceful_shutdown=max(1, int(cfg.shutdown_seconds * FINISH_SHARE)),
        )
    )
    server.services = app.state.services
    server.run()
