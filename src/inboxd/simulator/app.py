"""The simulator as HTTP: a standalone FastAPI app (`inboxd simulator`), or a router that
`inboxd serve` includes (the embedded default). Routers are built per `Simulator`, so any
number of simulators can run in one process (tests do)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from inboxd import __version__
from inboxd.api import contract, errors
from inboxd.api.middleware import RequestMiddleware
from inboxd.api.responses import JSON
from inboxd.simulator.control_routes import control_router
from inboxd.simulator.core import Simulator
from inboxd.simulator.graph_routes import graph_router

EMBEDDED_GRAPH_PREFIX = "/simulator/graph"


def create_simulator_app(sim: Simulator) -> FastAPI:
    """Graph routes at the root (`/v23.0/…`), the control API under `/simulator`."""
    app = FastAPI(
        title="inboxd WhatsApp Cloud API simulator",
        version=__version__,
        description=(
            "A stateful simulator of the WhatsApp Cloud API (Graph) for tests, benchmarks and "
            "integration tests. Graph routes need `Authorization: Bearer <access token>`; the "
            "control API under `/simulator` plays the WhatsApp users."
        ),
        default_response_class=JSON,
        lifespan=sim.running,
    )
    app.state.simulator = sim
    errors.install(app)  # control-API errors in inboxd's shape; Graph routes answer Graph's own
    app.add_middleware(RequestMiddleware, access_log=False)  # request ids; a JSON 500 on a surprise
    contract.install(app, rate_limited_path=None)  # the control API's answers, documented
    # The control router first: `/simulator/…` must not be taken for `/{version}/{object-id}`.
    app.include_router(control_router(sim))
    app.include_router(graph_router(sim))
    return app


def embedded_router(sim: Simulator) -> APIRouter:
    """For `create_app(extra_routers=…)`: the control API under `/simulator` (in inboxd's OpenAPI)
    and the Graph routes under `/simulator/graph` (Meta's API, documented by Meta, so left out
    of inboxd's OpenAPI). The simulator runs for as long as the app does."""
    router = APIRouter(lifespan=sim.running)
    router.include_router(control_router(sim, graph_prefix=EMBEDDED_GRAPH_PREFIX))
    router.include_router(
        graph_router(sim, prefix=EMBEDDED_GRAPH_PREFIX), prefix=EMBEDDED_GRAPH_PREFIX, include_in_schema=False
    )
    return router
