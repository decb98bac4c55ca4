"""Prometheus metrics of the ingest server and the sinkers (the shared event path counts in
:mod:`barista_core.events.metrics`: received, rejected by reason, published, unavailable, rate limited)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from barista_core.metrics import BATCH_BUCKETS, LATENCY_BUCKETS, NAMESPACE

RPC_SECONDS = Histogram(
    "rpc_seconds",
    "gRPC handling time by method.",
    ["method"],
    buckets=LATENCY_BUCKETS,
    namespace=NAMESPACE,
    subsystem="ingest",
)
RPC_ERRORS = Counter(
    "rpc_errors",
    "gRPC calls ended with an error status, by status code.",
    ["code"],
    namespace=NAMESPACE,
    subsystem="ingest",
)

_SIZE_BUCKETS = (1024, 16 * 1024, 64 * 1024, 256 * 1024, 1024**2, 4 * 1024**2, 16 * 1024**2, 64 * 1024**2)
SINK_EVENTS_WRITTEN = Counter(
    "events_written",
    "Events written to the destination (then acked).",
    ["sink", "destination"],
    namespace=NAMESPACE,
    subsystem="sink",
)
SINK_BATCHES_WRITTEN = Counter(
    "batches_written", "Batches written.", ["sink", "destination"], namespace=NAMESPACE, subsystem="sink"
)
SINK_EVENTS_DEAD_LETTERED = Counter(
    "events_dead_lettered",
    "Events moved to the dead-letter queue, by reason code.",
    ["sink", "reason"],
    namespace=NAMESPACE,
    subsystem="sink",
)
SINK_EVENTS_SKIPPED = Counter(
    "events_skipped_duplicate",
    "Redelivered events already present in the destination (not written twice).",
    ["sink"],
    namespace=NAMESPACE,
    subsystem="sink",
)
SINK_WRITE_FAILURES = Counter(
    "write_failures", "Failed write attempts, by kind.", ["sink", "kind"], namespace=NAMESPACE, subsystem="sink"
)
SINK_BATCH_EVENTS = Histogram(
    "batch_events",
    "Events per flushed batch.",
    ["sink"],
    buckets=BATCH_BUCKETS,
    namespace=NAMESPACE,
    subsystem="sink",
)
SINK_BATCH_BYTES = Histogram(
    "batch_bytes", "Bytes per flushed batch.", ["sink"], buckets=_SIZE_BUCKETS, namespace=NAMESPACE, subsystem="sink"
)
SINK_FLUSH_SECONDS = Histogram(
    "flush_seconds",
    "Time to write and ack one batch, retries included.",
    ["sink"],
    buckets=LATENCY_BUCKETS,
    namespace=NAMESPACE,
    subsystem="sink",
)
SINK_QUEUE_DEPTH = Gauge(
    "queue_depth",
    "Messages ready in the sink's queue (sampled).",
    ["sink", "queue"],
    namespace=NAMESPACE,
    subsystem="sink",
)
SINK_BUFFERED_EVENTS = Gauge(
    "buffered_events", "Events consumed and waiting in the buffer.", ["sink"], namespace=NAMESPACE, subsystem="sink"
)
