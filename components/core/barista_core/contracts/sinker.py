"""A sinker's settings: one Sink's queue, destination, batching and delivery policy."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator

from barista_core.contracts.common import ComponentSettings


class SinkerSettings(ComponentSettings):
    tenant: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=56, description="Owning tenant.")
    sink_name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63, description="The Sink.")
    queue: str = Field(min_length=1, max_length=255, description="AMQP queue to consume.")
    dead_letter_queue: str | None = Field(default=None, max_length=255, description="Where failed batches go.")
    broker_url: SecretStr = Field(description="amqp://user:pass@host/vhost or memory://")
    prefetch: int = Field(default=10_000, ge=1, le=65_535, description="Unacked messages in flight.")
    event_types: list[str] = Field(
        default_factory=lambda: ["#"],
        min_length=1,
        max_length=50,
        description="Event-type topic patterns the queue is bound with (JSON list); the sinker declares them too.",
    )

    destination: Literal["clickhouse", "webhook"] = Field(description="Where batches are written.")
    clickhouse_url: SecretStr | None = Field(default=None, description="clickhouse://… or chdb:///path")
    clickhouse_table: str = Field(default="events", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="Table.")
    ttl_days: int = Field(default=365, ge=1, le=3650, description="Days rows are kept.")
    webhook_url: str | None = Field(default=None, max_length=2048, description="Endpoint for batches.")
    webhook_secret: SecretStr | None = Field(default=None, description="HMAC-SHA256 signing secret.")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="Per-request timeout.")

    batch_max_events: int = Field(default=5_000, ge=1, le=100_000, description="Events per batch.")
    batch_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024, description="Batch bytes.")
    batch_max_delay_ms: int = Field(default=1_000, ge=10, le=60_000, description="Longest wait in the buffer.")
    delivery_max_attempts: int = Field(default=8, ge=1, le=100, description="Attempts before dead-lettering.")
    delivery_initial_backoff_ms: int = Field(default=500, ge=10, le=60_000, description="First retry delay.")
    delivery_max_backoff_ms: int = Field(default=300_000, ge=100, le=3_600_000, description="Backoff cap.")
    dead_letter: bool = Field(default=True, description="Dead-letter batches that exhaust their attempts.")

    @model_validator(mode="after")
    def _destination_fields(self) -> Self:
        if self.destination == "clickhouse" and self.clickhouse_url is None:
            raise ValueError("BARISTA_CLICKHOUSE_URL is required when BARISTA_DESTINATION=clickhouse")
        if self.destination == "webhook" and (self.webhook_url is None or self.webhook_secret is None):
            raise ValueError("BARISTA_WEBHOOK_URL and BARISTA_WEBHOOK_SECRET are required for webhooks")
        if self.delivery_initial_backoff_ms > self.delivery_max_backoff_ms:
            raise ValueError("BARISTA_DELIVERY_INITIAL_BACKOFF_MS must not exceed BARISTA_DELIVERY_MAX_BACKOFF_MS")
        return self
