"""Prometheus metrics of the scoring component (process-wide registry, ``barista_scoring_`` prefix)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from barista_core.metrics import BATCH_BUCKETS, LATENCY_BUCKETS, NAMESPACE

PROFILES = Counter(
    "profiles_scored", "Profiles scored, by label and path (api, batch, cli).", ["label", "path"],
    namespace=NAMESPACE, subsystem="scoring",
)  # fmt: skip
REQUESTS = Counter(
    "requests", "Scoring API requests by outcome (ok, invalid, too_large).", ["outcome"],
    namespace=NAMESPACE, subsystem="scoring",
)  # fmt: skip
REQUEST_SECONDS = Histogram(
    "request_seconds", "Time to score one API request.", namespace=NAMESPACE, subsystem="scoring",
    buckets=LATENCY_BUCKETS,
)  # fmt: skip
REQUEST_PROFILES = Histogram(
    "request_profiles", "Profiles per API request.", namespace=NAMESPACE, subsystem="scoring", buckets=BATCH_BUCKETS
)
BATCH_SECONDS = Histogram(
    "batch_seconds", "Time of one ClickHouse batch run.", namespace=NAMESPACE, subsystem="scoring",
    buckets=LATENCY_BUCKETS,
)  # fmt: skip


def count_labels(labels: list[str], path: str) -> None:
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    for label, n in counts.items():
        PROFILES.labels(label=label, path=path).inc(n)
