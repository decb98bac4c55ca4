"""The worker's Prometheus metrics (served on the probe port's ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from barista_core.metrics import LATENCY_BUCKETS, NAMESPACE

_SUB = "worker"

REQUESTS = Counter(
    "requests", "HTTP attempts by source and outcome (ok, client_error, rate_limited, server_error, timeout, "
    "network_error, bad_body).", ["source", "outcome"], namespace=NAMESPACE, subsystem=_SUB,
)  # fmt: skip
REQUEST_SECONDS = Histogram(
    "request_seconds", "Duration of one HTTP attempt.", ["source"], namespace=NAMESPACE, subsystem=_SUB,
    buckets=LATENCY_BUCKETS,
)  # fmt: skip
RETRIES = Counter("retries", "Attempts repeated, by why.", ["source", "reason"], namespace=NAMESPACE, subsystem=_SUB)
SNAPSHOTS = Counter(
    "snapshots", "Snapshot events handed to the event path, by type and status (accepted, rejected, unavailable).",
    ["source", "type", "status"], namespace=NAMESPACE, subsystem=_SUB,
)  # fmt: skip
ITEMS_SKIPPED = Counter(
    "items_skipped", "Items of an answer that made no snapshot.", ["source", "reason"], namespace=NAMESPACE,
    subsystem=_SUB,
)  # fmt: skip
LIMITER_WAITS = Counter(
    "limiter_waits", "Requests that had to wait for the distributed rate limiter (or a fleet-wide pause).",
    ["scope"], namespace=NAMESPACE, subsystem=_SUB,
)  # fmt: skip
LIMITER_WAIT_SECONDS = Histogram(
    "limiter_wait_seconds", "Time a request waited for the rate limiter (0 when admitted at once).", ["scope"],
    namespace=NAMESPACE, subsystem=_SUB, buckets=(0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)  # fmt: skip
TARGETS = Counter(
    "targets", "Targets finished, by outcome (succeeded, failed, skipped).", ["source", "outcome"],
    namespace=NAMESPACE, subsystem=_SUB,
)  # fmt: skip
TARGET_FAILURES = Counter(
    "target_failures", "Failed targets by reason.", ["source", "reason"], namespace=NAMESPACE, subsystem=_SUB
)
IN_FLIGHT = Gauge("targets_in_flight", "Targets being scraped now.", ["source"], namespace=NAMESPACE, subsystem=_SUB)
RUN_SECONDS = Histogram(
    "run_seconds", "Duration of this replica's part of a run.", ["source"], namespace=NAMESPACE, subsystem=_SUB,
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600),
)  # fmt: skip
LAST_RUN = Gauge(
    "last_run_timestamp_seconds", "When this replica last finished a run (Unix time).", ["source"],
    namespace=NAMESPACE, subsystem=_SUB,
)  # fmt: skip
LAST_RUN_TARGETS = Gauge(
    "last_run_targets", "Targets of this replica's last run, by outcome.", ["source", "outcome"],
    namespace=NAMESPACE, subsystem=_SUB,
)  # fmt: skip
