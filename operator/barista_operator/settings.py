"""The operator's own settings (environment, prefix BARISTA_OPERATOR_)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from barista_core.settings import BaristaSettings

Backend = Literal["registry", "clickhouse", "broker"]
DEFAULT_IMAGE_REPOSITORY = "ghcr.io/barista-dev"
DEFAULT_IMAGE_TAG = "0.1.0"


class OperatorSettings(BaristaSettings):
    model_config = SettingsConfigDict(env_prefix="BARISTA_OPERATOR_")

    # ---- kopf --------------------------------------------------------------------------------------------
    peering_name: str = Field(default="barista", description="kopf peering object; one active operator per name.")
    standalone: bool = Field(default=False, description="Run without peering (development, tests).")
    priority: int = Field(default=100, ge=0, description="Peering priority; the highest alive operator works.")
    probe_port: int = Field(default=8080, ge=1, le=65535, description="Port of /healthz.")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$", description="Log level.")
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$", description="Log format.")

    # ---- backends outside the cluster ---------------------------------------------------------------------
    postgres_url: SecretStr | None = Field(default=None, description="PostgreSQL holding the tenant registry.")
    clickhouse_url: SecretStr | None = Field(
        default=None, description="ClickHouse where tenant databases are created (clickhouse://… or chdb:///path)."
    )
    broker_url: SecretStr | None = Field(default=None, description="RabbitMQ (amqp://…) or memory:// for Sink queues.")
    redis_url: SecretStr | None = Field(
        default=None, description="Redis handed to tenant workloads (rate limiter, gateway cache); not used here."
    )
    disabled_backends: list[Backend] = Field(
        default_factory=list,
        description="Backends this operator does not manage (development and emulator benchmarks only): the "
        "matching conditions are left out of status and the URL may be unset.",
    )
    backend_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="Connect/command timeout.")
    registry_pool_size: int = Field(default=4, ge=1, le=50, description="PostgreSQL connections for the registry.")

    # ---- what children look like ---------------------------------------------------------------------------
    platform_namespace: str = Field(
        default="barista", max_length=63, description="Namespace of the platform (ingest, Airflow, backends)."
    )
    network_allowed_namespaces: list[str] = Field(
        default_factory=list, description="Further namespaces allowed to reach tenant pods (e.g. monitoring)."
    )
    network_allow_internet_egress: bool = Field(
        default=True, description="Let tenant pods reach public addresses (webhooks, scraped sites)."
    )
    image_repository: str = Field(default=DEFAULT_IMAGE_REPOSITORY, description="Registry/prefix of Barista images.")
    image_tag: str = Field(default=DEFAULT_IMAGE_TAG, description="Tag of Barista images.")
    ingest_image: str | None = Field(default=None, description="Sinker image (default <repository>/ingest:<tag>).")
    worker_image: str | None = Field(default=None, description="Scrape worker image.")
    gateway_image: str | None = Field(default=None, description="Silo gateway image.")
    scoring_image: str | None = Field(default=None, description="Silo scoring image.")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(default="IfNotPresent")

    # ---- pacing ----------------------------------------------------------------------------------------------
    recheck_seconds: float = Field(
        default=300.0, ge=0.1, description="Full re-check of every resource to correct drift made by others."
    )
    tenant_grace_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How long a Sink/ScrapeFlow/Pipeline waits quietly for its tenant to be ready "
        "before reporting TenantNotReady.",
    )
    tenant_wait_seconds: float = Field(
        default=60.0, ge=0, description="How long a handler waits for the tenant before handing over to retries."
    )
    retry_seconds: float = Field(default=10.0, gt=0, description="First retry delay after a transient failure.")
    max_retry_seconds: float = Field(default=300.0, gt=0, description="Upper bound of the retry backoff.")
    api_concurrency: int = Field(default=50, ge=1, le=1000, description="Parallel requests to the API server.")
    worker_limit: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="Objects of one kind processed at once (kopf's per-object workers). Unbounded, a burst of "
        "thousands of new objects floods the API server, and kopf's own patches then echo back later than its "
        "consistency timeout, so it handles stale events again.",
    )
    consistency_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="How long kopf waits for the echo of its own patch."
    )
    post_events: bool = Field(default=True, description="Post Kubernetes Events on phase transitions.")

    @model_validator(mode="after")
    def _backends_configured(self) -> Self:
        missing = [
            self.env_name(field)
            for backend, field in (
                ("registry", "postgres_url"),
                ("clickhouse", "clickhouse_url"),
                ("broker", "broker_url"),
            )
            if backend not in self.disabled_backends and getattr(self, field) is None
        ]
        if missing:
            raise ValueError(
                f"{', '.join(missing)} must be set (or the backend listed in BARISTA_OPERATOR_DISABLED_BACKENDS)"
            )
        return self

    def manages(self, backend: Backend) -> bool:
        return backend not in self.disabled_backends

    def image(self, component: Literal["ingest", "worker", "gateway", "scoring"]) -> str:
        explicit = getattr(self, f"{component}_image")
        return explicit or f"{self.image_repository.rstrip('/')}/{component}:{self.image_tag}"
