"""The worker pool: ``concurrency`` tasks taking targets one at a time, so at most that many requests are
in flight. A target's requests run in order (a page, then the next); its snapshots are enriched and
published per answer, so long paginations stream out.

A target ends *succeeded* (every request answered and parsed, every snapshot accepted), *failed*
(:class:`~barista_worker.model.TargetFailed`: a 4xx, retries exhausted, an unexpected shape, …) or
*skipped* (another replica claimed it, or the worker is stopping). When the stop event is set no new
target is taken; targets under way finish unless they have to wait (backoff, limiter), which ends
them as skipped. If the rate limiter's Redis is unreachable the run is aborted: nothing may be sent
without a token.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from barista_core.logging import get_logger
from barista_worker import metrics
from barista_worker.emit import SnapshotEmitter
from barista_worker.enrich import Enricher
from barista_worker.fetch import Fetcher, LimiterUnavailable
from barista_worker.model import Flow, Interrupted, RunResult, TargetFailed

log = get_logger(__name__)

Claim = Callable[[str], Awaitable[bool]]


@dataclass(slots=True)
class TargetReport:
    snapshots: int = 0
    requests: int = 0


class WorkerPool:
    def __init__(
        self,
        *,
        flow: Flow,
        fetcher: Fetcher,
        emitter: SnapshotEmitter,
        concurrency: int,
        stop: asyncio.Event | None = None,
        enricher: Enricher | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.flow = flow
        self.fetcher = fetcher
        self.emitter = emitter
        self.concurrency = concurrency
        self.stop = stop or asyncio.Event()
        self.enricher = enricher if enricher is not None and enricher.enabled else None
        self.source = flow.source

    async def scrape(self, target: str, run_id: str) -> TargetReport:
        """Every request of ``target`` in order; raises :class:`TargetFailed` or :class:`Interrupted`."""
        report = TargetReport()
        pending = deque(self.flow.start(target))
        while pending:
            request = pending.popleft()
            report.requests += 1
            body = await self.fetcher.fetch(request)
            try:
                parsed = self.flow.parse(target, request, body)
            except TargetFailed:
                raise
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                raise TargetFailed("parse_error", f"{type(exc).__name__}: {exc}"[:300]) from exc
            snapshots = parsed.snapshots
            if self.enricher is not None:
                snapshots = [self.enricher.apply(s) for s in snapshots]
            if snapshots:
                report.snapshots += len(await self.emitter.emit(snapshots, run_id))
            pending.extend(parsed.follow)
        return report

    async def run(self, targets: Iterable[str], *, run_id: str, claim: Claim | None = None) -> RunResult:
        result = RunResult(run_id=run_id, started_at=time.time())
        queue = iter(targets)
        aborted: list[str] = []
        in_flight = metrics.IN_FLIGHT.labels(self.source)

        def skip() -> None:
            result.skipped += 1
            metrics.TARGETS.labels(self.source, "skipped").inc()

        async def work() -> None:
            for target in queue:  # shared iterator: each target goes to exactly one task
                if self.stop.is_set() or aborted:
                    skip()
                    continue
                try:
                    if claim is not None and not await claim(target):
                        skip()
                        continue
                except Exception as exc:  # Redis gone: the run cannot be shared safely
                    aborted.append(f"claim failed: {type(exc).__name__}: {exc}")
                    skip()
                    continue
                in_flight.inc()
                try:
                    report = await self.scrape(target, run_id)
                except TargetFailed as exc:
                    result.failed += 1
                    result.failures[exc.reason] = result.failures.get(exc.reason, 0) + 1
                    metrics.TARGETS.labels(self.source, "failed").inc()
                    metrics.TARGET_FAILURES.labels(self.source, exc.reason).inc()
                    log.warning("target failed", source=self.source, target=target, reason=exc.reason,
                                detail=exc.detail)  # fmt: skip
                except Interrupted:
                    skip()
                except LimiterUnavailable as exc:
                    aborted.append(str(exc))
                    skip()
                except Exception:  # a bug in a parser or the event path: this target only
                    result.failed += 1
                    result.failures["error"] = result.failures.get("error", 0) + 1
                    metrics.TARGETS.labels(self.source, "failed").inc()
                    metrics.TARGET_FAILURES.labels(self.source, "error").inc()
                    log.exception("target failed unexpectedly", source=self.source, target=target)
                else:
                    result.succeeded += 1
                    result.snapshots += report.snapshots
                    metrics.TARGETS.labels(self.source, "succeeded").inc()
                finally:
                    in_flight.dec()

        attempts_before = self.fetcher.attempts
        try:
            await asyncio.gather(*(work() for _ in range(self.concurrency)))
        finally:
            result.finished_at = time.time()
            result.requests = self.fetcher.attempts - attempts_before
            result.interrupted = self.stop.is_set() or bool(aborted)
            if aborted:
                result.aborted = aborted[0]
                log.error("run aborted", source=self.source, run=run_id, reason=aborted[0])
        return result
