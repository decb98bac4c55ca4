"""The gateway's settings: backends, token signing, cache, limits and the reverse-proxy route table.

The operator renders them for silo tenants (``BARISTA_TENANT`` pins the gateway to one tenant);
the chart renders the shared gateway. Credentials are ``SecretStr`` and come from Secrets.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator

from barista_core.contracts.common import ComponentSettings
from barista_core.plans import Feature

_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class RouteSpec(BaseModel):
    """One entry of the route table: requests under ``prefix`` go to ``upstream``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = Field(pattern=r"^/[A-Za-z0-9._~/-]*$", max_length=200, description="Path prefix, e.g. /v1/score.")
    upstream: HttpUrl = Field(description="Base URL of the upstream service, e.g. http://scoring:8080.")
    strip_prefix: bool = Field(default=False, description="Drop the prefix from the path sent upstream.")
    feature: Feature | None = Field(default=None, description="Plan feature a tenant needs for this route.")
    auth: bool = Field(default=True, description="Require a credential (false only for public upstream paths).")
    timeout_seconds: float | None = Field(
        default=None, gt=0, le=600, description="Longest wait for the answer and between its chunks."
    )
    connect_timeout_seconds: float | None = Field(default=None, gt=0, le=60, description="Connect timeout.")
    retries: int | None = Field(default=None, ge=0, le=5, description="Retries of idempotent requests.")
    cache: bool = Field(default=False, description="Cache GET answers per tenant (honours Cache-Control).")
    cache_ttl_seconds: int | None = Field(default=None, ge=1, le=86_400, description="TTL without max-age.")
    forward_credentials: bool = Field(
        default=False, description="Pass Authorization/X-API-Key upstream (default: identity headers only)."
    )


class GatewaySettings(ComponentSettings):
    host: str = Field(default="0.0.0.0", description="Address the HTTP server binds.")  # noqa: S104
    port: int = Field(default=8080, ge=1, le=65535, description="HTTP port (API, /healthz, /readyz, /metrics).")
    postgres_url: SecretStr = Field(description="PostgreSQL: tenant registry, signing keys, serving tables.")
    redis_url: SecretStr = Field(description="Redis: sessions, rate limits, L2 cache, invalidation bus.")
    clickhouse_url: SecretStr = Field(description="ClickHouse (clickhouse://… or chdb:///path): time series.")
    broker_url: SecretStr | None = Field(
        default=None, description="amqp://… or memory:// for POST /v1/events; unset disables the bridge."
    )
    redis_prefix: str = Field(
        default="barista:", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="Prefix of every Redis key and channel."
    )
    tenant: str | None = Field(
        default=None, pattern=_NAME, max_length=56, description="Silo tenancy: serve only this tenant."
    )

    jwt_issuer: str = Field(default="barista", min_length=1, max_length=200, description="Token iss claim.")
    jwt_audience: str = Field(default="barista-api", min_length=1, max_length=200, description="Token aud claim.")
    token_ttl_seconds: int = Field(default=900, ge=60, le=86_400, description="Lifetime of issued tokens.")
    jwt_signing_key: SecretStr | None = Field(
        default=None, description="PEM EC P-256 private key; unset: a key generated in memory and rotated."
    )
    jwt_key_rotation_hours: float = Field(default=24.0, gt=0, le=8_760, description="Rotation of generated keys.")

    cache_l1_max_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0, le=16 * 1024**3, description="In-process cache size (0 disables L1)."
    )
    cache_l2: bool = Field(default=True, description="Share cached answers between replicas through Redis.")
    cache_default_ttl_seconds: int = Field(default=30, ge=1, le=86_400, description="TTL without max-age.")
    cache_max_ttl_seconds: int = Field(default=3_600, ge=1, le=86_400, description="Upper bound for max-age.")
    cache_max_entry_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024**2, description="Largest answer.")

    routes: list[RouteSpec] = Field(default_factory=list, description="Reverse-proxy route table (JSON list).")
    proxy_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Default wait for an upstream's answer and between its chunks."
    )
    proxy_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60, description="Default connect timeout.")
    proxy_retries: int = Field(default=1, ge=0, le=5, description="Default retries of idempotent requests.")
    proxy_max_connections: int = Field(default=512, ge=1, le=65_535, description="Upstream connection pool size.")

    trusted_proxies: str = Field(
        default="",
        max_length=1000,
        description="Comma-separated IPs/CIDRs whose X-Forwarded-For is believed (the ingress); empty: none.",
    )
    max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=256 * 1024**2, description="Body limit.")
    access_log: bool = Field(default=True, description="One JSON line per request (no credentials, no bodies).")
    docs: bool = Field(default=True, description="Serve OpenAPI at /openapi.json and /docs.")

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.cache_default_ttl_seconds > self.cache_max_ttl_seconds:
            raise ValueError("BARISTA_CACHE_DEFAULT_TTL_SECONDS must not exceed BARISTA_CACHE_MAX_TTL_SECONDS")
        prefixes = [r.prefix.rstrip("/") for r in self.routes]
        if len(prefixes) != len(set(prefixes)):
            raise ValueError("BARISTA_ROUTES has the same prefix twice")
        return self
