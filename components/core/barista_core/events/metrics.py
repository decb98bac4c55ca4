"""Prometheus metrics of the event path (shared by the gRPC server and the gateway's JSON bridge)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from barista_core.metrics import BATCH_BUCKETS, LATENCY_BUCKETS, NAMESPACE

EVENTS_RECEIVED = Counter(
    "events_received", "Events received, valid or not.", ["transport"], namespace=NAMESPACE, subsystem="ingest"
)
EVENTS_REJECTED = Counter(
    "events_rejected",
    "Events rejected by validation, by reason code.",
    ["reason"],
    namespace=NAMESPACE,
    subsystem="ingest",
)
EVENTS_PUBLISHED = Counter(
    "events_published", "Events confirmed by the broker (answered ACCEPTED).", namespace=NAMESPACE, subsystem="ingest"
)
EVENTS_UNAVAILABLE = Counter(
    "events_unavailable",
    "Events answered UNAVAILABLE (broker down or unconfirmed).",
    namespace=NAMESPACE,
    subsystem="ingest",
)
EVENTS_RATE_LIMITED = Counter(
    "events_rate_limited",
    "Events answered RATE_LIMITED (tenant over its events/s).",
    namespace=NAMESPACE,
    subsystem="ingest",
)
BATCHES_REFUSED = Counter(
    "batches_refused",
    "Whole batches refused before validation, by limit.",
    ["limit"],
    namespace=NAMESPACE,
    subsystem="ingest",
)
BATCH_EVENTS = Histogram(
    "batch_events", "Events per received batch.", buckets=BATCH_BUCKETS, namespace=NAMESPACE, subsystem="ingest"
)
PUBLISH_SECONDS = Histogram(
    "publish_seconds",
    "Time from hand-over to broker confirm.",
    buckets=LATENCY_BUCKETS,
    namespace=NAMESPACE,
    subsystem="ingest",
)
