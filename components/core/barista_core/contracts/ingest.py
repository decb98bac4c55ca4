"""The ingest gRPC server's settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from barista_core.contracts.common import ComponentSettings


class IngestSettings(ComponentSettings):
    grpc_host: str = Field(default="0.0.0.0", description="Address the gRPC server binds.")  # noqa: S104
    grpc_port: int = Field(default=50051, ge=1, le=65535, description="gRPC port.")
    broker_url: SecretStr = Field(description="amqp://user:pass@host/vhost or memory://")
    redis_url: SecretStr = Field(description="Redis for the per-tenant events/s limiter.")
    postgres_url: SecretStr = Field(description="PostgreSQL holding the tenant registry (API keys, plans).")
    max_batch_events: int = Field(default=10_000, ge=1, le=100_000, description="Events per request.")
    max_batch_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024, description="Request size.")
    max_future_skew_seconds: int = Field(default=300, ge=0, description="How far in the future occurred_at may be.")
    max_event_age_days: int = Field(default=30, ge=1, description="How far in the past occurred_at may be.")
    publish_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="Wait for broker confirms.")
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=300, description="Drain time on SIGTERM.")
    max_properties_bytes: int = Field(
        default=32 * 1024, ge=256, le=1024 * 1024, description="Largest properties object (bytes of its JSON)."
    )
    max_properties_depth: int = Field(default=8, ge=1, le=64, description="Deepest nesting inside properties.")
    max_concurrent_rpcs: int = Field(default=2_000, ge=1, le=100_000, description="RPCs served at once.")
    publish_max_inflight: int = Field(
        default=1,
        ge=1,
        le=256,
        description="Broker publishes awaiting confirms at once; callers arriving "
        "meanwhile are coalesced into the next one (fewer, larger messages).",
    )
    redis_prefix: str = Field(
        default="barista:",
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="Prefix of Redis keys and channels (sessions, invalidation bus, events/s buckets); the "
        "gateway's must match so both share a tenant's events/s budget.",
    )
    publish_linger_ms: float = Field(
        default=5.0,
        ge=0,
        le=100,
        description="Under concurrent load, how long a publish waits for more callers to join it: a few ms "
        "turn many small requests into one AMQP message (the broker and every sinker pay per message).",
    )
