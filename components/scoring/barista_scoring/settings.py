"""The scoring component's settings (environment variables ``BARISTA_*``, like every component)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from barista_core.contracts.common import ComponentSettings

#: The API's hard limit per request (documented in the OpenAPI schema).
MAX_PROFILES_PER_REQUEST = 1_000


class ScoringSettings(ComponentSettings):
    http_host: str = Field(default="0.0.0.0", description="Address the HTTP API binds.")  # noqa: S104
    http_port: int = Field(default=8080, ge=0, le=65535, description="HTTP port (0: any free port).")
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024, description="Largest accepted request body."
    )
    clickhouse_url: SecretStr | None = Field(
        default=None, description="clickhouse://… or chdb:///path; needed by the batch mode only."
    )
    clickhouse_database: str = Field(
        default="barista", pattern=r"^[a-zA-Z_][a-zA-Z0-9_]{0,62}$", description="Database of the batch tables."
    )
    snapshots_table: str = Field(
        default="follower_snapshots",
        pattern=r"^[a-zA-Z_][a-zA-Z0-9_]{0,62}$",
        description="Follower snapshots the batch reads (one row per creator, follower and observation).",
    )
    batch_since_hours: float = Field(default=24.0, gt=0, le=24 * 366, description="Batch: snapshots this recent.")
    batch_chunk: int = Field(default=50_000, ge=100, le=1_000_000, description="Batch: profiles scored per chunk.")
