"""The transport-neutral shapes of the event path: what comes in, what goes back, and the limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol, overload

from barista_core.errors import BaristaError

if TYPE_CHECKING:
    from barista_core.contracts.ingest import IngestSettings
    from barista_core.registry import TenantRecord

MiB = 1024 * 1024


class EventStatusCode(IntEnum):
    """Per-event outcome; the numbers are those of ``barista.events.v1.EventStatus.Code``."""

    ACCEPTED = 1
    REJECTED = 2
    UNAVAILABLE = 3
    RATE_LIMITED = 4


@dataclass(slots=True)
class EventInput:
    """One event as a transport handed it over (protobuf message or JSON object), not yet validated.

    ``occurred_at_ms`` is milliseconds since the Unix epoch (None when missing). Properties come either
    parsed (``properties``) or as JSON text (``properties_json``), never both. A transport that
    cannot even convert an event (say ``properties`` is a JSON string) sets ``invalid`` to
    ``(reason, field)``; the ingestor then rejects it with that reason, in place, like any other.
    """

    id: str
    type: str
    occurred_at_ms: int | None
    user_id: str = ""
    session_id: str = ""
    device_id: str = ""
    properties: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    invalid: tuple[str, str] | None = None
    #: The properties as JSON text, when the client sent them so (instead of ``properties``).
    properties_json: bytes | None = None


class EventStatus(NamedTuple):
    """The outcome for one event. ``reason`` starts with a machine-readable code (``unknown_type: …``)."""

    id: str
    code: EventStatusCode
    reason: str = ""
    field: str = ""

    @property
    def reason_code(self) -> str:
        return self.reason.split(":", 1)[0]


class UniformStatuses(Sequence[EventStatus]):
    """The statuses of a batch whose every event had the same outcome: one per id, made when read. (The usual
    batch, all accepted, is answered over gRPC straight from its ids, without a status object per event.)"""

    __slots__ = ("code", "ids", "reason")

    def __init__(self, ids: list[str], code: EventStatusCode, reason: str = "") -> None:
        self.ids, self.code, self.reason = ids, code, reason

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> EventStatus: ...

    @overload
    def __getitem__(self, index: slice) -> list[EventStatus]: ...

    def __getitem__(self, index: int | slice) -> EventStatus | list[EventStatus]:
        if isinstance(index, slice):
            return [EventStatus(id, self.code, self.reason) for id in self.ids[index]]
        return EventStatus(self.ids[index], self.code, self.reason)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"UniformStatuses({len(self.ids)} x {self.code.name}{', ' + repr(self.reason) if self.reason else ''})"


@dataclass(slots=True)
class BatchResult:
    """One status per event, in request order, plus counts and a retry hint (0 when none)."""

    statuses: Sequence[EventStatus]
    accepted: int = 0
    rejected: int = 0
    unavailable: int = 0
    rate_limited: int = 0
    retry_after_ms: int = 0

    @property
    def fully_rate_limited(self) -> bool:
        """True when the limiter refused every event that was not invalid (and there was one)."""
        return self.rate_limited > 0 and self.accepted == 0 and self.unavailable == 0

    def to_json(self, batch_id: str = "") -> dict[str, Any]:
        """The JSON form of ``PublishResponse`` (proto3 JSON field names), for the HTTP bridge."""
        return {
            "statuses": [
                {"id": s.id, "code": s.code.name, **({"reason": s.reason, "field": s.field} if s.reason else {})}
                for s in self.statuses
            ],
            "accepted": self.accepted,
            "rejected": self.rejected,
            "unavailable": self.unavailable,
            "rateLimited": self.rate_limited,
            "batchId": batch_id,
            "retryAfterMs": self.retry_after_ms,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EventLimits:
    """What one batch and one event may be. Defaults match ``IngestSettings``."""

    max_batch_events: int = 10_000
    max_batch_bytes: int = 4 * MiB
    max_future_skew_ms: int = 300_000
    max_age_ms: int = 30 * 86_400_000
    max_properties_bytes: int = 32 * 1024
    max_properties_depth: int = 8
    max_context_bytes: int = 8 * 1024
    max_identifier_length: int = 256

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> EventLimits:
        return cls(
            max_batch_events=settings.max_batch_events,
            max_batch_bytes=settings.max_batch_bytes,
            max_future_skew_ms=settings.max_future_skew_seconds * 1000,
            max_age_ms=settings.max_event_age_days * 86_400_000,
            max_properties_bytes=settings.max_properties_bytes,
            max_properties_depth=settings.max_properties_depth,
        )


class BatchLimitExceeded(BaristaError):
    """The whole batch is refused: too many events (``limit="events"``) or too many bytes (``"bytes"``).

    gRPC maps ``events`` to INVALID_ARGUMENT and ``bytes`` to RESOURCE_EXHAUSTED; HTTP to 413 for both.
    """

    def __init__(self, limit: Literal["events", "bytes"], actual: int, maximum: int) -> None:
        self.limit = limit
        self.actual = actual
        self.maximum = maximum
        if limit == "events":
            text = f"batch has {actual} events; the limit is {maximum} events per batch"
        else:
            text = f"batch is {actual} bytes; the limit is {maximum} bytes ({maximum / MiB:g} MiB) per batch"
        super().__init__(text)

    @property
    def code(self) -> str:
        return "too_many_events" if self.limit == "events" else "batch_too_large"


class TenantNotActive(BaristaError):
    """The tenant is suspended: it may not send events (gRPC PERMISSION_DENIED, HTTP 403)."""

    code = "tenant_suspended"


class IngestPrincipal(Protocol):
    """Who sends the batch: anything with the tenant it acts for (the gateway's ``Principal`` fits)."""

    @property
    def tenant(self) -> TenantRecord: ...


@dataclass(frozen=True, slots=True)
class TenantOnly:
    """A principal for trusted in-cluster producers (scrape workers) that act for a known tenant."""

    tenant: TenantRecord
    kind: str = field(default="internal")
