"""A scrape worker's settings: one ScrapeFlow's source, targets, schedule and rate limit."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator

from barista_core.contracts.common import ComponentSettings

Source = Literal[
    "instagram.profile",
    "instagram.posts",
    "instagram.followers",
    "youtube.channel",
    "youtube.videos",
    "shopify.products",
    "http.json",
]


class WorkerSettings(ComponentSettings):
    tenant: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=56, description="Owning tenant.")
    flow_name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63, description="The ScrapeFlow.")
    source: Source = Field(description="What is scraped.")
    targets: list[str] = Field(default_factory=list, max_length=10_000, description="Inline targets (JSON list).")
    targets_file: str | None = Field(default=None, description="File with one target per line (mounted ConfigMap).")
    interval_seconds: int | None = Field(default=None, ge=60, description="Re-scrape interval.")
    schedule: str | None = Field(default=None, max_length=128, description="Cron schedule instead of an interval.")
    concurrency: int = Field(default=8, ge=1, le=256, description="Concurrent requests in this worker.")
    rate_limit_requests: int | None = Field(default=None, ge=1, description="Requests per period (all workers).")
    rate_limit_period_seconds: float = Field(default=60.0, gt=0, le=86_400, description="Rate-limit period.")
    rate_limit_scope: Literal["source", "flow", "tenant"] = Field(default="source", description="Who shares it.")
    credentials_dir: str | None = Field(default=None, description="Directory of the mounted credentials Secret.")
    http_json: dict[str, Any] | None = Field(default=None, description="http.json config (JSON).")
    enrich_categories: bool = Field(default=False, description="Classify creators into categories.")
    enrich_language: bool = Field(default=False, description="Detect caption/bio language.")
    broker_url: SecretStr = Field(description="amqp://user:pass@host/vhost or memory://")
    redis_url: SecretStr = Field(description="Redis for the distributed rate limiter.")
    # ---- worker-side tuning (not in the ScrapeFlow CR; defaults suit production) ------------------------
    instagram_base_url: str = Field(
        default="https://i.instagram.com", pattern=r"^https?://[^\s{}]+$", description="Instagram API base URL."
    )
    youtube_base_url: str = Field(
        default="https://www.googleapis.com/youtube/v3",
        pattern=r"^https?://[^\s{}]+$",
        description="YouTube Data API v3 base URL.",
    )
    shopify_url_template: str = Field(
        default="https://{target}/products.json",
        pattern=r"^https?://[^\s]*\{target\}[^\s]*$",
        description="A store's public products.json, {target} = the store's domain.",
    )
    max_pages: int = Field(default=5, ge=1, le=1000, description="Pages fetched per target for paged sources.")
    request_timeout_seconds: float = Field(default=20.0, gt=0, le=300, description="Timeout of one HTTP request.")
    max_attempts: int = Field(default=4, ge=1, le=10, description="Attempts per request (5xx, 429, timeouts).")
    shutdown_grace_seconds: float = Field(default=25.0, ge=0, le=300, description="Finish in-flight targets on stop.")
    redis_key_prefix: str = Field(
        default="barista:", min_length=1, max_length=64, description="Prefix of the worker's Redis keys."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if bool(self.targets) == bool(self.targets_file):
            raise ValueError("set exactly one of BARISTA_TARGETS or BARISTA_TARGETS_FILE")
        if (self.interval_seconds is None) == (self.schedule is None):
            raise ValueError("set exactly one of BARISTA_INTERVAL_SECONDS or BARISTA_SCHEDULE")
        if (self.source == "http.json") != (self.http_json is not None):
            raise ValueError("BARISTA_HTTP_JSON is required for source http.json and only then")
        return self
