"""inboxd's app for granian (`granian --interface asgi --factory bench.baselines.granian_app:app`):
scenario 1's server arm. Configured from the environment like `inboxd serve` (the harness
migrates and seeds first)."""

from __future__ import annotations

from typing import Any


def app() -> Any:
    from inboxd.api.app import create_app
    from inboxd.cli.common import settings, setup_logging

    cfg = settings()
    setup_logging(cfg.log_level, cfg.log_format)
    return create_app(cfg)
