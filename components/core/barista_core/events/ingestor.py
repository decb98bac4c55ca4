"""The ingestor: validate a batch, apply the tenant's events/s limit, publish with confirms.

This is what every way in shares — the gRPC server, the gateway's ``POST /v1/events`` and trusted
producers such as scrape workers — so they answer identically. See the package docstring for the
contract.
"""

from __future__ import annotations

import math
import time
from collections import Counter as Tally
from collections.abc import Callable, Sequence
from typing import Any

from barista_core.broker import BrokerUnavailable
from barista_core.events import metrics
from barista_core.events.admission import EventAdmission
from barista_core.events.codec import format_ms
from barista_core.events.model import (
    BatchLimitExceeded,
    BatchResult,
    EventInput,
    EventLimits,
    EventStatus,
    EventStatusCode,
    IngestPrincipal,
    TenantNotActive,
    UniformStatuses,
)
from barista_core.events.publisher import EventPublisher
from barista_core.events.validation import EventValidator, Rejection
from barista_core.events.wire import encode_batch
from barista_core.usage import UsageCounter

ACCEPTED = EventStatusCode.ACCEPTED
REJECTED = EventStatusCode.REJECTED
UNAVAILABLE = EventStatusCode.UNAVAILABLE
RATE_LIMITED = EventStatusCode.RATE_LIMITED
#: Suggested wait before retrying events answered UNAVAILABLE.
UNAVAILABLE_RETRY_MS = 1000
#: ``EventStatus(id, code, "", "")`` without the Python-level ``__new__`` of the named tuple (half the cost;
#: one per accepted event)
_new_status = tuple.__new__
#: transport -> its child of ``events_received`` (``labels()`` takes a lock and builds a key per call)
_RECEIVED: dict[str, Any] = {}


class EventIngestor:
    """Validates, rate-limits and publishes batches; one instance per process."""

    def __init__(
        self,
        publisher: EventPublisher,
        *,
        limits: EventLimits | None = None,
        admission: EventAdmission | None = None,
        usage: UsageCounter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.publisher = publisher
        self.limits = limits or EventLimits()
        self.validator = EventValidator(self.limits)
        self.admission = admission
        #: counts accepted events per tenant for ``GET /v1/usage`` (None: not counted, e.g. scraped snapshots)
        self.usage = usage
        self._clock = clock

    def check_batch(self, count: int, size_bytes: int | None = None) -> None:
        """Raise :class:`BatchLimitExceeded` when the batch as a whole is over a limit."""
        if size_bytes is not None and size_bytes > self.limits.max_batch_bytes:
            metrics.BATCHES_REFUSED.labels("bytes").inc()
            raise BatchLimitExceeded("bytes", size_bytes, self.limits.max_batch_bytes)
        if count > self.limits.max_batch_events:
            metrics.BATCHES_REFUSED.labels("events").inc()
            raise BatchLimitExceeded("events", count, self.limits.max_batch_events)

    async def ingest(
        self,
        principal: IngestPrincipal,
        events: Sequence[EventInput],
        *,
        size_bytes: int | None = None,
        transport: str = "grpc",
    ) -> BatchResult:
        """Validate, limit and publish ``events`` for ``principal.tenant``; one status per event, in order.

        Raises :class:`BatchLimitExceeded` (nothing was published) or :class:`TenantNotActive`.
        """
        self.check_batch(len(events), size_bytes)
        self._receive(principal, len(events), transport)
        now_ms = int(self._clock() * 1000)
        outcomes = self.validator.check_all(events, now_ms=now_ms, received_at=format_ms(now_ms))
        ids = [event.id for event in events]
        types = [event.type for event in events]
        return await self._limit_and_publish(principal, ids, types, outcomes)

    async def ingest_wire(
        self, principal: IngestPrincipal, data: bytes, *, transport: str = "grpc"
    ) -> tuple[BatchResult, str] | None:
        """:meth:`ingest` of a serialised ``EventBatch`` through the compiled fast path, and the batch id; None
        when the fast path declines the batch (an invalid event, a field it does not convert, malformed
        bytes): then parse it and call :meth:`ingest`, which decides.

        Raises :class:`BatchLimitExceeded` or :class:`TenantNotActive` as :meth:`ingest` does.
        """
        self.check_batch(0, len(data))
        now_ms = int(self._clock() * 1000)
        batch = encode_batch(data, self.limits, now_ms=now_ms, received_at=format_ms(now_ms))
        if batch is None:
            return None
        count = len(batch.ids)
        self.check_batch(count)
        self._receive(principal, count, transport)
        result = await self._limit_and_publish(principal, batch.ids, batch.types, batch.encoded, groups=batch.groups)
        return result, batch.batch_id

    def _receive(self, principal: IngestPrincipal, count: int, transport: str) -> None:
        """Count a batch of ``count`` events as received, once the tenant is known to be active."""
        tenant = principal.tenant
        if tenant.state != "active":
            raise TenantNotActive(f"tenant {tenant.name} is {tenant.state}: events are not accepted")
        received = _RECEIVED.get(transport)
        if received is None:
            received = _RECEIVED[transport] = metrics.EVENTS_RECEIVED.labels(transport)
        received.inc(count)
        metrics.BATCH_EVENTS.observe(count)

    async def _limit_and_publish(
        self,
        principal: IngestPrincipal,
        ids: list[str],
        types: Sequence[str],
        outcomes: Sequence[Rejection | bytes],
        *,
        groups: dict[str, list[bytes]] | None = None,
    ) -> BatchResult:
        """Statuses for validated events (``outcomes[i]`` is event i's JSON or its rejection): the tenant's
        events/s limit applied to the valid ones, then the admitted ones published. ``groups`` (the JSON by
        type, from the compiled path) says every event is valid, and saves grouping them here."""
        tenant = principal.tenant
        count = len(outcomes)
        statuses: list[EventStatus | None] = [None] * count
        valid: Sequence[int]
        encoded: Sequence[bytes]
        invalid = [] if groups is not None else [i for i, outcome in enumerate(outcomes) if type(outcome) is not bytes]
        if not invalid:  # the usual batch: every event valid, no lists to build
            valid, encoded = range(count), outcomes  # type: ignore[assignment]
        else:
            rejected: Tally[str] = Tally()
            for index in invalid:
                outcome = outcomes[index]
                statuses[index] = EventStatus(ids[index], REJECTED, outcome.reason, outcome.field)  # type: ignore[union-attr]
                rejected[outcome.reason.split(":", 1)[0]] += 1  # type: ignore[union-attr]
            for reason, times in rejected.items():
                metrics.EVENTS_REJECTED.labels(reason).inc(times)
            valid = [index for index, outcome in enumerate(outcomes) if type(outcome) is bytes]
            encoded = [outcomes[index] for index in valid]  # type: ignore[misc]
        # every slot of ``statuses`` is filled below, unless one outcome for all replaces the list
        result = BatchResult(statuses=statuses, rejected=count - len(valid))  # type: ignore[arg-type]

        admitted = len(valid)
        if valid and self.admission is not None:
            rate = tenant.limits.events_per_second
            decision = await self.admission.admit(tenant.name, rate=rate, wanted=len(valid))
            if decision.granted < len(valid):
                admitted = decision.granted
                reason = f"rate_limited: tenant {tenant.name} may send {rate} events/s"
                for index in valid[admitted:]:
                    statuses[index] = EventStatus(ids[index], RATE_LIMITED, reason)
                result.rate_limited = len(valid) - admitted
                result.retry_after_ms = max(1, math.ceil(decision.retry_after * 1000))
                metrics.EVENTS_RATE_LIMITED.inc(result.rate_limited)

        uniform = not invalid and admitted == count  # one outcome for every event: no status per event
        if admitted:
            if groups is None or admitted < count:
                groups = {}
                for index, data in zip(valid[:admitted], encoded, strict=False):  # encoded[i] is events[valid[i]]
                    event_type = types[index]
                    bucket = groups.get(event_type)
                    if bucket is None:
                        groups[event_type] = [data]
                    else:
                        bucket.append(data)
            started = time.perf_counter()
            try:
                await self.publisher.publish(tenant.name, groups)
            except BrokerUnavailable as exc:
                reason = f"unavailable: {exc}"[:300]
                if uniform:
                    result.statuses = UniformStatuses(ids, UNAVAILABLE, reason)
                else:
                    for index in valid[:admitted]:
                        statuses[index] = EventStatus(ids[index], UNAVAILABLE, reason)
                result.unavailable = admitted
                result.retry_after_ms = max(result.retry_after_ms, UNAVAILABLE_RETRY_MS)
                metrics.EVENTS_UNAVAILABLE.inc(admitted)
            else:
                metrics.PUBLISH_SECONDS.observe(time.perf_counter() - started)
                if uniform:
                    result.statuses = UniformStatuses(ids, ACCEPTED)
                else:
                    for index in valid[:admitted]:
                        statuses[index] = _new_status(EventStatus, (ids[index], ACCEPTED, "", ""))
                result.accepted = admitted
                metrics.EVENTS_PUBLISHED.inc(admitted)
                if self.usage is not None:
                    self.usage.add(tenant.name, "events", admitted)
        return result
