"""The gateway's Prometheus metrics.

What every request touches (requests by route/method/status, duration by route, cache lookups by
layer) is counted in plain Python ints and turned into metric families only when ``/metrics`` is
scraped: prometheus_client's children take a lock per update, which on the cache-hit path cost more
than a fifth of the edge's own time. Everything runs on the event loop thread, so plain ints are
exact. Rare events (refusals by reason, upstream errors) use ordinary prometheus_client counters.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from barista_core.metrics import LATENCY_BUCKETS, NAMESPACE

SUBSYSTEM = "gateway"
PREFIX = f"{NAMESPACE}_{SUBSYSTEM}"


class _Durations:
    __slots__ = ("buckets", "count", "sum")

    def __init__(self) -> None:
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.count = 0
        self.sum = 0.0


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        kw = {"namespace": NAMESPACE, "subsystem": SUBSYSTEM, "registry": registry}
        self.auth_failures = Counter("auth_failures", "Refused credentials, by reason.", ["reason"], **kw)
        self.rate_limited = Counter("rate_limited", "Requests refused by a rate limit, by limit.", ["limit"], **kw)
        self.feature_denied = Counter("feature_denied", "Requests refused by a plan's feature gate.", ["feature"], **kw)
        self.upstream_errors = Counter(
            "upstream_errors", "Proxied requests that failed, by route and kind.", ["route", "kind"], **kw
        )
        self.requests: dict[tuple[str, str, int], int] = {}
        self.durations: dict[str, _Durations] = {}
        self.cache_counts = {(layer, result): 0 for layer in ("l1", "l2") for result in ("hit", "miss")}
        self._collector = _HotPathCollector(self)
        registry.register(self._collector)
        self.registry = registry

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        durations = self.durations.get(route)
        if durations is None:
            durations = self.durations[route] = _Durations()
        durations.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        durations.count += 1
        durations.sum += seconds

    def cache_lookup(self, layer: str, hit: bool) -> None:
        self.cache_counts[(layer, "hit" if hit else "miss")] += 1

    def unregister(self) -> None:
        for collector in (
            self.auth_failures,
            self.rate_limited,
            self.feature_denied,
            self.upstream_errors,
            self._collector,
        ):
            self.registry.unregister(collector)


class _HotPathCollector(Collector):
    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        requests = CounterMetricFamily(
            f"{PREFIX}_requests",
            "Requests answered, by route, method and status.",
            labels=["route", "method", "status"],
        )
        for (route, method, status), count in list(m.requests.items()):
            requests.add_metric([route, method, str(status)], count)
        yield requests

        durations = HistogramMetricFamily(
            f"{PREFIX}_request_duration_seconds", "Time to answer, by route.", labels=["route"]
        )
        for route, d in list(m.durations.items()):
            cumulative, buckets = 0, []
            for bound, count in zip([*LATENCY_BUCKETS, float("inf")], d.buckets, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(float(bound)), cumulative))
            durations.add_metric([route], buckets, d.sum)
        yield durations

        lookups = CounterMetricFamily(
            f"{PREFIX}_cache_lookups", "Cache lookups, by layer and result.", labels=["layer", "result"]
        )
        ratio = GaugeMetricFamily(
            f"{PREFIX}_cache_hit_ratio", "Share of lookups answered by each cache layer.", labels=["layer"]
        )
        for layer in ("l1", "l2"):
            hits, misses = m.cache_counts[(layer, "hit")], m.cache_counts[(layer, "miss")]
            lookups.add_metric([layer, "hit"], hits)
            lookups.add_metric([layer, "miss"], misses)
            ratio.add_metric([layer], hits / (hits + misses) if hits + misses else 0.0)
        yield lookups
        yield ratio
