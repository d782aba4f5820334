"""`/healthz` (the database answers) and `/metrics` (Prometheus)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from inboxd import __version__, metrics
from inboxd.api.contract import answers, ok, text
from inboxd.api.deps import get_services
from inboxd.api.errors import error_response
from inboxd.api.responses import JSON
from inboxd.domain.errors import ChannelUnavailable
from inboxd.services import Services

router = APIRouter(tags=["operations"])


def database_unavailable(why: str) -> ChannelUnavailable:
    return ChannelUnavailable(f"database unavailable: {why}", code="database_unavailable")


@router.get(
    "/healthz",
    summary="Liveness and database check",
    **answers(ok("Health"), database_unavailable("OperationalError")),
)
async def healthz(services: Services = Depends(get_services)) -> JSON:
    try:
        async with services.db.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # report, don't crash: this is what the probe is for
        return error_response(database_unavailable(type(exc).__name__))
    return JSON({"success": True, "status": "ok", "version": __version__, "database": services.db.dialect})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    **answers(text("The Prometheus text format.", example="inboxd_http_requests_total{...} 12.0")),
)
async def prometheus_metrics() -> Response:
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
