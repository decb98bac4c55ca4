"""Sink (namespaced, in a tenant namespace): deliver matching events to ClickHouse or a webhook."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from barista_operator.api.meta import (
    AGE_COLUMN,
    IDENTIFIER_PATTERN,
    PHASE_COLUMN,
    Condition,
    CrdModel,
    PrinterColumn,
    ResourceKind,
    Resources,
    SecretKeyRef,
    conditions_field,
    defaulted,
    kopf_state_field,
    name_rule,
)

SINK_NAME_MAX = 50
#: AMQP topic pattern over event types: words of [a-z0-9_-], or * (one word) / # (any words).
EVENT_PATTERN = r"^(\*|#|[a-z0-9_-]+)(\.(\*|#|[a-z0-9_-]+))*$"
SinkPhase = Literal["Pending", "Provisioning", "Ready", "Paused", "Degraded", "Failed"]


class ClickHouseDestination(CrdModel):
    """Write batches into a table of the tenant's ClickHouse database."""

    table: Annotated[
        str,
        Field(
            default="events",
            max_length=63,
            pattern=IDENTIFIER_PATTERN,
            description="Table in the tenant's database; created if missing.",
        ),
    ]
    ttl_days: Annotated[
        int | None,
        Field(
            default=None,
            ge=1,
            le=3_650,
            description="Days rows are kept; defaults to and is capped at the plan's retention.",
        ),
    ]


class WebhookDestination(CrdModel):
    """POST batches as JSON, signed with HMAC-SHA256, to an HTTP endpoint."""

    url: Annotated[
        str,
        Field(
            max_length=2048,
            pattern=r"^https?://[^\s/$.?#][^\s]*$",
            description="Endpoint receiving the batches (https strongly recommended).",
        ),
    ]
    secret_ref: Annotated[
        SecretKeyRef, Field(description="Secret key holding the HMAC signing secret (sent as X-Barista-Signature).")
    ]
    timeout_seconds: Annotated[int, Field(default=10, ge=1, le=120, description="Per-request timeout.")]


class BatchPolicy(CrdModel):
    """When the sinker flushes its buffer: whichever limit is reached first."""

    max_events: Annotated[int, Field(default=5_000, ge=1, le=100_000, description="Events per batch.")]
    max_bytes: Annotated[int, Field(default=4_194_304, ge=1_024, le=67_108_864, description="Bytes per batch.")]
    max_delay_ms: Annotated[
        int, Field(default=1_000, ge=10, le=60_000, description="Longest time an event waits in the buffer.")
    ]


class DeliveryPolicy(CrdModel):
    """Retries and dead-lettering of batches that cannot be written."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.initialBackoffMs <= self.maxBackoffMs",
                    "message": "initialBackoffMs must not exceed maxBackoffMs",
                    "fieldPath": ".initialBackoffMs",
                },
            ]
        }
    )

    max_attempts: Annotated[int, Field(default=8, ge=1, le=100, description="Attempts before dead-lettering.")]
    initial_backoff_ms: Annotated[int, Field(default=500, ge=10, le=60_000, description="First retry delay.")]
    max_backoff_ms: Annotated[
        int, Field(default=300_000, ge=100, le=3_600_000, description="Upper bound of the exponential backoff.")
    ]
    dead_letter: Annotated[
        bool, Field(default=True, description="Move batches that exhaust their attempts to the dead-letter queue.")
    ]


class SinkSpec(CrdModel):
    """Desired state of a Sink."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.clickhouse) != has(self.webhook)",
                    "message": "exactly one of clickhouse or webhook must be set",
                    "reason": "FieldValueInvalid",
                },
            ]
        }
    )

    event_types: Annotated[
        list[Annotated[str, Field(max_length=200, pattern=EVENT_PATTERN)]],
        Field(
            default_factory=lambda: ["#"],
            min_length=1,
            max_length=50,
            description="Event types to deliver, as AMQP topic patterns (order.* matches order.created; "
            "# matches everything).",
            json_schema_extra={"default": ["#"]},
        ),
    ]
    clickhouse: Annotated[ClickHouseDestination | None, Field(default=None, description=ClickHouseDestination.__doc__)]
    webhook: Annotated[WebhookDestination | None, Field(default=None, description=WebhookDestination.__doc__)]
    batch: Annotated[BatchPolicy, defaulted(BatchPolicy, BatchPolicy.__doc__ or "")]
    delivery: Annotated[DeliveryPolicy, defaulted(DeliveryPolicy, DeliveryPolicy.__doc__ or "")]
    replicas: Annotated[int, Field(default=1, ge=0, le=50, description="Sinker pods consuming the queue.")]
    paused: Annotated[bool, Field(default=False, description="Scale the sinker to zero; events queue up.")]
    resources: Annotated[Resources | None, Field(default=None, description=Resources.__doc__)]


class SinkStatus(CrdModel):
    """Observed state of a Sink."""

    observed_generation: Annotated[
        int | None, Field(default=None, ge=0, description="The .metadata.generation this status describes.")
    ]
    phase: Annotated[SinkPhase | None, Field(default=None, description="Summary of the sink's state.")]
    destination: Annotated[str | None, Field(default=None, description="Where batches go, for display.")]
    queue: Annotated[str | None, Field(default=None, description="The AMQP queue feeding this sink.")]
    dead_letter_queue: Annotated[str | None, Field(default=None, description="Where failed batches go.")]
    bindings: Annotated[
        list[Annotated[str, Field(max_length=260)]],
        Field(
            default_factory=list,
            max_length=50,
            description="Routing keys (<tenant>.<pattern>) the queue is bound with; the operator unbinds keys "
            "that leave eventTypes.",
        ),
    ]
    ready_replicas: Annotated[int | None, Field(default=None, ge=0, description="Sinker pods ready.")]
    conditions: Annotated[list[Condition], conditions_field()]
    kopf: Annotated[dict[str, Any] | None, kopf_state_field()]


SINK = ResourceKind(
    kind="Sink",
    plural="sinks",
    singular="sink",
    short_names=("bsink",),
    namespaced=True,
    description="Delivers a tenant's events matching some types to ClickHouse or a webhook, in batches, "
    "through its own queue and sinker Deployment.",
    spec_model=SinkSpec,
    status_model=SinkStatus,
    printer_columns=(
        PrinterColumn(name="Destination", json_path=".status.destination", description="Where batches go"),
        PrinterColumn(name="Events", json_path=".spec.eventTypes", description="Event type patterns"),
        PrinterColumn(name="Replicas", json_path=".spec.replicas", type="integer", description="Sinker pods"),
        PHASE_COLUMN,
        AGE_COLUMN,
    ),
    name_max_length=SINK_NAME_MAX,
    root_rules=(name_rule("Sink", SINK_NAME_MAX),),
)
