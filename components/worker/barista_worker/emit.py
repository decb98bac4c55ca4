"""Snapshots → catalogue events, through the shared event path (validation, publisher confirms).

Each snapshot becomes an event of its type with ``occurred_at`` = when it was observed and
``context`` = ``{"app_name": "barista-worker", "extra": {"flow", "run", "source"}}``. Its id is a
UUIDv5 of tenant, flow, run, type and the snapshot's key, so re-sending a snapshot of the same run
(after the broker did not confirm, or after a restart mid-run) is deduplicated by the sinks, while
every run makes new observations. Events go through
:meth:`barista_core.events.EventIngestor.ingest` as a trusted producer (:class:`TenantOnly`), so
they are validated against the catalogue and published to ``barista.events`` with routing key
``<tenant>.<type>`` exactly like events from the ingest API — every Sink sees them.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from barista_core.events import EventIngestor, EventInput, EventStatusCode, TenantOnly
from barista_core.logging import get_logger
from barista_core.plans import Plan, effective_features, effective_limits
from barista_core.registry import TenantRecord
from barista_worker import metrics
from barista_worker.fetch import RetryPolicy, sleep_unless_stopped
from barista_worker.model import Snapshot, TargetFailed

log = get_logger(__name__)

APP_NAME = "barista-worker"
#: Namespace of snapshot event ids (uuid5).
ID_NAMESPACE = uuid.UUID("3bcc06e1-dfa4-5618-8006-5af047d246da")  # uuid5(URL, https://barista.dev/worker/snapshots)
#: Events per ingest call (well under the event path's per-batch limit).
CHUNK = 1000
PUBLISH_ATTEMPTS = 4
_rng = random.Random()


def snapshot_id(tenant: str, flow: str, run_id: str, snapshot: Snapshot) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{tenant}/{flow}/{run_id}/{snapshot.type}/{snapshot.key}"))


def trusted_principal(tenant: str) -> TenantOnly:
    """The worker acts for its tenant as a trusted in-cluster producer. It has no registry access: the
    ingestor reads only ``name`` and ``state`` here (no admission limiter), the plan fields are inert."""
    return TenantOnly(
        TenantRecord(
            name=tenant,
            display_name=tenant,
            plan=Plan.FREE,
            limits=effective_limits(Plan.FREE),
            features=effective_features(Plan.FREE),
        )
    )


class SnapshotEmitter:
    def __init__(
        self,
        ingestor: EventIngestor,
        *,
        tenant: str,
        flow: str,
        source: str,
        stop: asyncio.Event | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ingestor = ingestor
        self.tenant = tenant
        self.flow = flow
        self.source = source
        self.stop = stop
        self.retry = retry or RetryPolicy(max_attempts=PUBLISH_ATTEMPTS, initial_backoff=0.5, max_backoff=5.0)
        self.clock = clock
        self.principal = trusted_principal(tenant)
        self._contexts: dict[str, dict[str, Any]] = {}

    def context(self, run_id: str) -> dict[str, Any]:
        """One shared dict per run (the validator recognises a repeated context by identity)."""
        found = self._contexts.get(run_id)
        if found is None:
            self._contexts.clear()
            found = self._contexts[run_id] = {
                "app_name": APP_NAME,
                "extra": {"flow": self.flow, "run": run_id, "source": self.source},
            }
        return found

    def events(self, snapshots: Sequence[Snapshot], run_id: str) -> list[EventInput]:
        """The events for ``snapshots`` (the last of several snapshots with the same id wins)."""
        now_ms = int(self.clock() * 1000)
        context = self.context(run_id)
        by_id: dict[str, EventInput] = {}
        for snapshot in snapshots:
            event_id = snapshot_id(self.tenant, self.flow, run_id, snapshot)
            by_id.pop(event_id, None)
            by_id[event_id] = EventInput(
                id=event_id,
                type=snapshot.type,
                occurred_at_ms=now_ms,
                properties=snapshot.properties,
                context=context,
            )
        return list(by_id.values())

    async def emit(self, snapshots: Sequence[Snapshot], run_id: str) -> list[str]:
        """Publish ``snapshots``; returns the accepted event ids. Raises :class:`TargetFailed` when some
        were rejected (a parser bug: say so loudly) or the broker stayed unavailable."""
        accepted: list[str] = []
        events = self.events(snapshots, run_id)
        for start in range(0, len(events), CHUNK):
            accepted.extend(await self._emit_chunk(events[start : start + CHUNK]))
        return accepted

    async def _emit_chunk(self, events: list[EventInput]) -> list[str]:
        accepted: list[str] = []
        pending = events
        failures = 0
        while True:
            result = await self.ingestor.ingest(self.principal, pending, transport="worker")
            retry: list[EventInput] = []
            rejected: list[str] = []
            reason = ""
            for event, status in zip(pending, result.statuses, strict=True):
                code = status.code
                if code == EventStatusCode.ACCEPTED:
                    accepted.append(event.id)
                    metrics.SNAPSHOTS.labels(self.source, event.type, "accepted").inc()
                elif code == EventStatusCode.REJECTED:
                    rejected.append(f"{event.type} {status.reason}")
                    metrics.SNAPSHOTS.labels(self.source, event.type, "rejected").inc()
                else:  # UNAVAILABLE (broker) or RATE_LIMITED: the same ids again later
                    retry.append(event)
                    reason = status.reason
                    metrics.SNAPSHOTS.labels(self.source, event.type, "unavailable").inc()
            if rejected:
                log.warning("snapshots rejected by the event catalogue", count=len(rejected), first=rejected[0])
                raise TargetFailed("rejected", f"{len(rejected)} snapshot(s) rejected; first: {rejected[0]}")
            if not retry:
                return accepted
            failures += 1
            if failures >= self.retry.max_attempts:
                raise TargetFailed("publish_unavailable", f"{len(retry)} snapshot(s) not confirmed: {reason}")
            delay = max(self.retry.backoff(failures, _rng), result.retry_after_ms / 1000)
            await sleep_unless_stopped(delay, self.stop)
            pending = retry
