"""Prometheus metrics, served at `/metrics`."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

http_requests = Counter(
    "inboxd_http_requests_total", "HTTP requests answered", ["method", "route", "status"], registry=REGISTRY
)
http_latency = Histogram(
    "inboxd_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
    registry=REGISTRY,
)
# The labelled series of each (method, route, status) seen: `labels()` costs a lock and a few
# look-ups per call, and every request records one. Routes are templates or "unmatched" (never a
# path's values), so the set stays small; bounded anyway (then it starts again empty, the series
# themselves stay in the registry).
_REQUEST_SERIES_KEPT = 1024
_request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    """One answered request: its count by method, route and status, its latency by route."""
    series = _request_series.get((method, route, status))
    if series is None:
        if len(_request_series) >= _REQUEST_SERIES_KEPT:
            _request_series.clear()
        series = _request_series[(method, route, status)] = (
            http_requests.labels(method, route, str(status)), http_latency.labels(route))
    series[0].inc()
    series[1].observe(seconds)


webhook_events = Counter(
    "inboxd_webhook_events_total",
    "Inbound webhook items by kind (message type, status, error, other field)",
    ["channel", "kind"],
    registry=REGISTRY,
)
webhook_rejected = Counter(
    "inboxd_webhook_rejected_total", "Inbound webhooks refused (bad signature, bad body)", ["reason"], registry=REGISTRY
)
processing_failures = Counter(
    "inboxd_processing_failures_total", "Inbound events whose processing failed and will be retried", ["stage"],
    registry=REGISTRY,
)
outbound_sends = Counter(
    "inboxd_outbound_sends_total", "Calls to the channel to send a message, by outcome", ["outcome"], registry=REGISTRY
)
outbox_pending = Gauge("inboxd_outbox_pending", "Outgoing messages not yet handed to the channel", registry=REGISTRY)
channel_problems_active = Gauge(
    "inboxd_channel_problems_active",
    "Active channel health problems, per channel account and severity (read from the database at each scrape)",
    ["channel", "account_id", "severity"],
    registry=REGISTRY,
)


def set_channel_problems(counts: list[tuple[str, str, str, int]]) -> None:
    """Replace the gauge's series with these (channel, accountId, severity, count); accounts with
    no active problem have no series."""
    channel_problems_active.clear()
    for channel, account_id, severity, count in counts:
        channel_problems_active.labels(channel, account_id, severity).set(count)


# --- the live stream (docs/live.md)
live_streams = Gauge("inboxd_live_streams", "Live streams open in this process", registry=REGISTRY)
live_streams_dropped = Counter(
    "inboxd_live_streams_dropped_total", "Live streams dropped for reading too slowly (they reconnect)", registry=REGISTRY
)
