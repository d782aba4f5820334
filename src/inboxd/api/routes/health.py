"""`/healthz` (the database answers) and `/metrics` (Prometheus)."""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from inboxd import __version__, metrics
from inboxd.api.contract import answers, ok, text
from inboxd.api.deps import get_services
from inboxd.api.errors import error_response
from inboxd.api.responses import JSON
from inboxd.domain.errors import database_unavailable
from inboxd.health import problems as problems_store
from inboxd.services import Services

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.get(
    "/healthz",
    summary="Liveness and database check",
    **answers(ok("Health"), database_unavailable()),
)
async def healthz(services: Services = Depends(get_services)) -> JSON:
    """200 when the database answers `SELECT 1` within the connect timeout, else 503: a probe that
    answers at once, also when the database's packets are dropped."""
    try:
        async with asyncio.timeout(services.settings.database_connect_timeout):
            async with services.db.read() as conn:
                await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # report, don't crash: this is what the probe is for
        error = database_unavailable()
        error.message = f"database unavailable: {type(exc).__name__}"
        return error_response(error)
    return JSON({"success": True, "status": "ok", "version": __version__, "database": services.db.dialect})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    **answers(text("The Prometheus text format.", example="inboxd_http_requests_total{...} 12.0")),
)
async def prometheus_metrics(services: Services = Depends(get_services)) -> Response:
    try:  # channel health problems live in the database (any process may have raised them)
        async with services.db.read() as conn:
            metrics.set_channel_problems(await problems_store.active_counts(conn))
    except Exception:  # the other metrics are still worth answering with
        log.exception("reading the channel health problems for /metrics failed")
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
