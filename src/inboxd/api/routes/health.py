"""`/healthz` (the database answers) and `/metrics` (Prometheus)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from inboxd import __version__, metrics
from inboxd.api.deps import get_services
from inboxd.api.responses import JSON
from inboxd.health import problems as problems_store
from inboxd.services import Services

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.get("/healthz", summary="Liveness and database check")
async def healthz(services: Services = Depends(get_services)) -> JSON:
    try:
        async with services.db.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # report, don't crash: this is what the probe is for
        return JSON(
            {"success": False, "error": f"database unavailable: {type(exc).__name__}", "code": "database_unavailable",
             "details": []},
            status_code=503,
        )
    return JSON({"success": True, "status": "ok", "version": __version__, "database": services.db.dialect})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus_metrics(services: Services = Depends(get_services)) -> Response:
    try:  # channel health problems live in the database (any process may have raised them)
        async with services.db.read() as conn:
            metrics.set_channel_problems(await problems_store.active_counts(conn))
    except Exception:  # the other metrics are still worth answering with
        log.exception("reading the channel health problems for /metrics failed")
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
