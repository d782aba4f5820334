"""Prometheus metrics of event delivery, in inboxd's registry (served at `/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from inboxd.metrics import REGISTRY

event_deliveries = Counter(
    "inboxd_event_deliveries_total",
    "Event deliveries to subscribers: queued, then each attempt's outcome (delivered, retry, failed)",
    ["outcome"],
    registry=REGISTRY,
)
event_delivery_latency = Histogram(
    "inboxd_event_delivery_seconds",
    "Time from sending an event to the subscriber's answer",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
event_evaluation_failures = Counter(
    "inboxd_event_evaluation_failures_total",
    "Scenario runs that failed while an event was raised (logged; no delivery)",
    registry=REGISTRY,
)
