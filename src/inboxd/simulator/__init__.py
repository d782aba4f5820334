"""A stateful simulator of the WhatsApp Cloud API (the parts of Graph inboxd talks to): sends
validated against Meta's own OpenAPI description, Meta's rules (24-hour window, throughput and
pair rate limits, media, templates), signed status and inbound webhooks, and a control API that
plays the WhatsApp users and injects faults. See docs/simulator.md.

The public surface: `SimulatorConfig`, `Simulator`, `create_simulator_app` (standalone) and
`embedded_router` (inside `inboxd serve`). They are loaded on first use, so importing a light
submodule (the CLI reads `inboxd.simulator.config`) does not pull in the web stack.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EMBEDDED_GRAPH_PREFIX": "inboxd.simulator.app",
    "create_simulator_app": "inboxd.simulator.app",
    "embedded_router": "inboxd.simulator.app",
    "SimulatorConfig": "inboxd.simulator.config",
    "StatusDelays": "inboxd.simulator.config",
    "Simulator": "inboxd.simulator.core",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'inboxd.simulator' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
