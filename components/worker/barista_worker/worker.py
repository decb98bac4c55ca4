"""One ScrapeFlow's worker: targets, schedule, the pool, run summaries — assembled from ``WorkerSettings``
and already-opened backends (so ``barista up`` can hand over its embedded ones).

``Worker.run_forever(stop)`` loops: wait for the next run window (interval or cron, see
:mod:`barista_worker.schedule`), run the pool over the targets this replica claims, log a summary
(``run started`` / ``run finished`` with succeeded, failed, skipped, snapshots, requests, duration and
the totals of all replicas). Targets are re-read from the targets file before every run, so a
changed ConfigMap takes effect without a restart.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import httpx
from redis.exceptions import RedisError

from barista_core.contracts import WorkerSettings
from barista_core.errors import ConfigError
from barista_core.events import EventIngestor
from barista_core.logging import get_logger
from barista_core.ratelimit import RateLimiter
from barista_core.usage import UsageCounter
from barista_worker import metrics
from barista_worker.emit import SnapshotEmitter
from barista_worker.enrich import Enricher
from barista_worker.fetch import Fetcher, RateLimit, RetryPolicy, Throttle, sleep_unless_stopped
from barista_worker.model import Flow, Interrupted, RunResult
from barista_worker.pool import WorkerPool
from barista_worker.schedule import CronSchedule, IntervalSchedule, RunCoordinator, RunWindow, Schedule
from barista_worker.sources import build_flow

log = get_logger(__name__)

#: Wait before trying again when Redis could not start or join a run.
COORDINATION_RETRY_SECONDS = 5.0


def load_targets(settings: WorkerSettings) -> list[str]:
    """Inline targets, or the targets file (one per line; blank lines and ``#`` comments ignored), de-duplicated."""
    if settings.targets:
        raw = settings.targets
    else:
        assert settings.targets_file is not None
        try:
            raw = Path(settings.targets_file).read_text().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"BARISTA_TARGETS_FILE {settings.targets_file} cannot be read: {exc}") from None
    targets = list(dict.fromkeys(t.strip() for t in raw if t.strip() and not t.strip().startswith("#")))
    if not targets:
        where = f"BARISTA_TARGETS_FILE {settings.targets_file}" if settings.targets_file else "BARISTA_TARGETS"
        raise ConfigError(f"{where} holds no targets")
    return targets


def schedule_of(settings: WorkerSettings) -> Schedule:
    if settings.interval_seconds is not None:
        return IntervalSchedule(float(settings.interval_seconds))
    assert settings.schedule is not None
    return CronSchedule(settings.schedule)


def limiter_key(settings: WorkerSettings, flow: Flow) -> tuple[str, str]:
    """The limiter key for the flow's ``rate_limit_scope`` and a label for metrics."""
    scope = settings.rate_limit_scope
    if scope == "tenant":
        return f"scrape:{settings.tenant}:tenant", "tenant"
    if scope == "flow":
        return f"scrape:{settings.tenant}:flow:{settings.flow_name}", "flow"
    upstream = flow.limiter_scope()
    return f"scrape:{settings.tenant}:source:{upstream}", f"source:{upstream}"


def http_client(settings: WorkerSettings, concurrency: int | None = None) -> httpx.AsyncClient:
    size = concurrency or settings.concurrency
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.request_timeout_seconds),
        limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
        follow_redirects=True,
    )


class Worker:
    def __init__(
        self,
        settings: WorkerSettings,
        *,
        redis: Any,
        ingestor: EventIngestor,
        http: httpx.AsyncClient | None = None,
        flow: Flow | None = None,
        retry: RetryPolicy | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.settings = settings
        self.stop = stop or asyncio.Event()
        self.flow = flow or build_flow(settings)
        self.schedule = schedule_of(settings)
        load_targets(settings)  # fail at start-up, not at the first run
        self.source = settings.source
        self._own_http = http is None
        self.http = http or http_client(settings)
        prefix = settings.redis_key_prefix
        key, scope = limiter_key(settings, self.flow)
        limit = (
            RateLimit(requests=settings.rate_limit_requests, period=settings.rate_limit_period_seconds)
            if settings.rate_limit_requests is not None
            else None
        )
        self.throttle = Throttle(
            redis,
            limiter=RateLimiter(redis, prefix=f"{prefix}ratelimit:"),
            key=key,
            limit=limit,
            pause_key=f"{prefix}worker:pause:{key}",
            scope=scope,
            stop=self.stop,
        )
        self.fetcher = Fetcher(
            self.http,
            source=self.source,
            throttle=self.throttle,
            retry=retry or RetryPolicy(max_attempts=settings.max_attempts),
            stop=self.stop,
        )
        self.emitter = SnapshotEmitter(
            ingestor, tenant=settings.tenant, flow=settings.flow_name, source=self.source, stop=self.stop
        )
        self.pool = WorkerPool(
            flow=self.flow,
            fetcher=self.fetcher,
            emitter=self.emitter,
            concurrency=settings.concurrency,
            stop=self.stop,
            enricher=Enricher(categories=settings.enrich_categories, language=settings.enrich_language),
        )
        self.coordinator = RunCoordinator(redis, prefix=prefix, tenant=settings.tenant, flow=settings.flow_name)
        #: the tenant's scrape requests, for the gateway's ``GET /v1/usage``
        self.usage = UsageCounter(redis, prefix=prefix)
        self._last_run_id: str | None = None
        self._cron_next: float | None = None
        self.last_result: RunResult | None = None
        self.last_totals: dict[str, str] = {}
        #: Set once the first run finished.
        self.ran = asyncio.Event()

    async def close(self) -> None:
        if self._own_http:
            await self.http.aclose()

    # ---- runs ----------------------------------------------------------------------------------------

    async def next_window(self) -> RunWindow:
        """Wait for and return the next run window (raises :class:`Interrupted` when stopping)."""
        failures = 0
        while True:
            try:
                if isinstance(self.schedule, IntervalSchedule):
                    window = await self.coordinator.begin_interval(self.schedule.seconds)
                    if window.run_id != self._last_run_id:
                        return window
                    # the run this replica just finished has not expired yet (a few ms): wait it out
                    await sleep_unless_stopped(window.ends_at - time.time() + 0.05, self.stop)
                    continue
                now = time.time()
                # the fire time after the previous run's (unless that is long past: missed fires are skipped)
                due = self._cron_next
                fire = due if due is not None and due >= now - 1.0 else self.schedule.next_after(now)
                await sleep_unless_stopped(fire - time.time(), self.stop)
                self._cron_next = self.schedule.next_after(fire)
                return self.coordinator.cron_window(fire, self._cron_next)
            except (RedisError, OSError) as exc:
                failures += 1
                delay = min(60.0, COORDINATION_RETRY_SECONDS * failures) * (0.5 + random.random() / 2)
                log.warning("cannot start a run: Redis unavailable", error=str(exc)[:200], retry_in_s=round(delay, 1))
                await sleep_unless_stopped(delay, self.stop)

    async def run_window(self, window: RunWindow) -> RunResult:
        targets = load_targets(self.settings)
        self._last_run_id = window.run_id
        order = targets[:]
        if window.joined:  # replicas joining a run start elsewhere in the list: fewer claim collisions
            random.shuffle(order)
        log.info("run started", run=window.run_id, targets=len(targets), joined=window.joined,
                 concurrency=self.settings.concurrency, schedule=self.schedule.describe())  # fmt: skip

        async def claim(target: str) -> bool:
            return await self.coordinator.claim(window, target)

        result = await self.pool.run(order, run_id=window.run_id, claim=claim)
        totals: dict[str, str] = {}
        try:
            totals = await self.coordinator.finish(window, result)
        except (RedisError, OSError) as exc:
            log.warning("could not record the run summary", error=str(exc)[:200])
        self._record(result, totals)
        if result.requests:
            self.usage.add(self.settings.tenant, "scrapes", result.requests)
            await self.usage.flush()  # one round trip per run; if Redis is away, the count waits for the next
        return result

    def _record(self, result: RunResult, totals: dict[str, str]) -> None:
        self.last_result, self.last_totals = result, totals
        self.ran.set()
        metrics.RUN_SECONDS.labels(self.source).observe(result.duration)
        metrics.LAST_RUN.labels(self.source).set(result.finished_at)
        for outcome in ("succeeded", "failed", "skipped"):
            metrics.LAST_RUN_TARGETS.labels(self.source, outcome).set(getattr(result, outcome))
        log.info(
            "run finished",
            run=result.run_id,
            succeeded=result.succeeded,
            failed=result.failed,
            skipped=result.skipped,
            snapshots=result.snapshots,
            requests=result.requests,
            duration_s=round(result.duration, 3),
            failures=result.failures or None,
            interrupted=result.interrupted or None,
            aborted=result.aborted or None,
            run_succeeded=int(totals.get("succeeded", 0)) if totals else None,
            run_failed=int(totals.get("failed", 0)) if totals else None,
        )

    async def run_forever(self) -> None:
        """Run windows until the stop event is set."""
        log.info("worker started", flow=self.settings.flow_name, tenant=self.settings.tenant, source=self.source,
                 schedule=self.schedule.describe())  # fmt: skip
        try:
            while not self.stop.is_set():
                window = await self.next_window()
                result = await self.run_window(window)
                if result.finished_at > window.ends_at:
                    log.warning("run overran its window: the next run starts at once", run=window.run_id,
                                overrun_s=round(result.finished_at - window.ends_at, 1))  # fmt: skip
                await sleep_unless_stopped(window.ends_at - time.time(), self.stop)
        except Interrupted:
            pass
        log.info("worker stopped", flow=self.settings.flow_name)
