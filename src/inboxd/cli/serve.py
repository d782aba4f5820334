"""`inboxd serve`."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
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


def run_server(*, host: str | None, port: int | None, processes: int = 1) -> None:
    cfg = settings()
    setup_logging(cfg.log_level, cfg.log_format)
    host = host or cfg.host
    port = port or cfg.port
    migrate_configured(cfg)
    if processes > 1:
        _run_processes(host, port, processes, simulator=cfg.simulator)
        return
    _serve(host, port, None)


def _serve(host: str, port: int, sock: socket.socket | None) -> None:
    """One server process: the app (with its workers) on `sock`, or bound to host:port."""
    cfg = settings()
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
    server.run(sockets=[sock] if sock is not None else None)


def _child(host: str, port: int, sock: socket.socket) -> None:
    cfg = settings()
    setup_logging(cfg.log_level, cfg.log_format)
    _serve(host, port, sock)


def _run_processes(host: str, port: int, count: int, *, simulator: bool) -> None:
    """`--processes N`: N server processes (each with its own workers) accepting on one listening
    socket, bound here; SIGTERM/SIGINT are passed on to every one and waited for. One Python
    process uses one core; docs/benchmarks.md gives the rate one process serves per core."""
    if simulator:
        raise SystemExit("--processes > 1 needs INBOXD_SIMULATOR=false: the embedded simulator keeps its "
                         "state in one process (run `inboxd simulator` on its own instead).")
    sock = socket.create_server((host, port), backlog=2048, reuse_port=False)
    sock.set_inheritable(True)
    spawn = multiprocessing.get_context("spawn")
    children = [spawn.Process(target=_child, args=(host, port, sock), name=f"inboxd-serve-{i}") for i in range(count)]
    for child in children:
        child.start()
    sock.close()

    def forward(sig: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, sig)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    for child in children:
        child.join()
    failed = [c.exitcode for c in children if c.exitcode not in (0, None, -signal.SIGTERM, -signal.SIGINT)]
    if failed:
        raise SystemExit(f"a server process exited with {failed[0]}")
