"""ScrapeFlow (namespaced): keep a set of profiles, channels or stores fresh."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from barista_operator.api.meta import (
    CRON_PATTERN,
    DURATION_PATTERN,
    PHASE_COLUMN,
    Condition,
    CrdModel,
    PrinterColumn,
    ResourceKind,
    Resources,
    conditions_field,
    defaulted,
    kopf_state_field,
    name_rule,
)

FLOW_NAME_MAX = 50
Source = Literal[
    "instagram.profile",
    "instagram.posts",
    "instagram.followers",
    "youtube.channel",
    "youtube.videos",
    "shopify.products",
    "http.json",
]
ScrapeFlowPhase = Literal["Pending", "Provisioning", "Ready", "Suspended", "Degraded", "Failed"]


class ConfigMapKeyRef(CrdModel):
    """A key of a ConfigMap in the flow's namespace."""

    name: Annotated[
        str,
        Field(
            description="Name of the ConfigMap.",
            min_length=1,
            max_length=253,
            pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        ),
    ]
    key: Annotated[
        str,
        Field(
            description="Key holding one target per line.", min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$"
        ),
    ]


class TargetsFrom(CrdModel):
    """Read targets from elsewhere instead of listing them inline."""

    config_map_key_ref: Annotated[ConfigMapKeyRef, Field(description=ConfigMapKeyRef.__doc__)]


class RateLimit(CrdModel):
    """Outbound request budget, enforced across all workers by the distributed limiter."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "duration(self.period) >= duration('1s') && duration(self.period) <= duration('24h')",
                    "message": "period must be between 1s and 24h",
                    "fieldPath": ".period",
                },
            ]
        }
    )

    requests: Annotated[int, Field(ge=1, le=1_000_000, description="Requests allowed per period.")]
    period: Annotated[
        str,
        Field(
            default="1m",
            max_length=32,
            pattern=DURATION_PATTERN,
            description="Length of the period (Go duration, e.g. 1m).",
        ),
    ]
    scope: Annotated[
        Literal["source", "flow", "tenant"],
        Field(
            default="source",
            description="Who shares the budget: every flow of this tenant hitting the same source, "
            "this flow alone, or all of the tenant's flows.",
        ),
    ]


class HttpJsonSource(CrdModel):
    """How to fetch and map a generic JSON API (only for source http.json)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.urlTemplate.contains('{target}')",
                    "message": "urlTemplate must contain {target}",
                    "fieldPath": ".urlTemplate",
                },
            ]
        }
    )

    url_template: Annotated[
        str, Field(max_length=2048, pattern=r"^https?://[^\s]+$", description="URL with a {target} placeholder.")
    ]
    method: Annotated[Literal["GET", "POST"], Field(default="GET", description="HTTP method.")]
    headers: Annotated[
        dict[str, Annotated[str, Field(max_length=1024)]],
        Field(
            default_factory=dict,
            max_length=20,
            description="Extra request headers (no secrets: use credentialsSecretRef).",
        ),
    ]
    items_path: Annotated[
        str, Field(default="$", max_length=256, description="JSONPath of the item list in the response, e.g. items[*].")
    ]
    fields: Annotated[
        dict[str, Annotated[str, Field(max_length=256)]],
        Field(default_factory=dict, max_length=50, description="Output property name → JSONPath within an item."),
    ]


class Enrichment(CrdModel):
    """Optional enrichment of scraped records."""

    categories: Annotated[bool, Field(default=False, description="Classify creators into categories.")]
    language: Annotated[bool, Field(default=False, description="Detect the language of captions and bios.")]


class SecretRef(CrdModel):
    """A Secret in the flow's namespace."""

    name: Annotated[
        str,
        Field(
            description="Name of the Secret.", min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
        ),
    ]


class ScrapeFlowSpec(CrdModel):
    """Desired state of a ScrapeFlow."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.targets) != has(self.targetsFrom)",
                    "message": "exactly one of targets or targetsFrom must be set",
                    "reason": "FieldValueInvalid",
                },
                {
                    "rule": "has(self.interval) != has(self.schedule)",
                    "message": "exactly one of interval or schedule must be set",
                    "reason": "FieldValueInvalid",
                },
                {
                    "rule": "!has(self.interval) || duration(self.interval) >= duration('1m')",
                    "message": "interval must be at least 1m",
                    "fieldPath": ".interval",
                },
                {
                    "rule": "(self.source == 'http.json') == has(self.http)",
                    "message": "http is required for source http.json and not allowed otherwise",
                    "fieldPath": ".http",
                },
            ]
        }
    )

    source: Annotated[Source, Field(description="What to scrape.")]
    targets: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=256)]] | None,
        Field(
            default=None,
            min_length=1,
            max_length=10_000,
            description="Handles, channel ids, store domains or URL parts to scrape.",
        ),
    ]
    targets_from: Annotated[TargetsFrom | None, Field(default=None, description=TargetsFrom.__doc__)]
    interval: Annotated[
        str | None,
        Field(
            default=None,
            max_length=32,
            pattern=DURATION_PATTERN,
            description="Re-scrape every target this often (Go duration, >= 1m).",
        ),
    ]
    schedule: Annotated[
        str | None,
        Field(default=None, max_length=128, pattern=CRON_PATTERN, description="Cron schedule instead of an interval."),
    ]
    concurrency: Annotated[int, Field(default=8, ge=1, le=256, description="Concurrent requests per worker.")]
    workers: Annotated[int, Field(default=1, ge=0, le=50, description="Worker pods.")]
    rate_limit: Annotated[RateLimit | None, Field(default=None, description=RateLimit.__doc__)]
    credentials_secret_ref: Annotated[
        SecretRef | None,
        Field(default=None, description="Secret with API credentials for the source (e.g. a YouTube API key)."),
    ]
    http: Annotated[HttpJsonSource | None, Field(default=None, description=HttpJsonSource.__doc__)]
    enrich: Annotated[Enrichment, defaulted(Enrichment, Enrichment.__doc__ or "")]
    suspend: Annotated[bool, Field(default=False, description="Stop scraping; workers scale to zero.")]
    resources: Annotated[Resources | None, Field(default=None, description=Resources.__doc__)]


class LastRun(CrdModel):
    """The most recent complete pass over the targets."""

    started_at: Annotated[
        str | None, Field(default=None, description="When the run started.", json_schema_extra={"format": "date-time"})
    ]
    finished_at: Annotated[
        str | None, Field(default=None, description="When the run finished.", json_schema_extra={"format": "date-time"})
    ]
    succeeded: Annotated[int | None, Field(default=None, ge=0, description="Targets scraped successfully.")]
    failed: Annotated[int | None, Field(default=None, ge=0, description="Targets that failed.")]


class ScrapeFlowStatus(CrdModel):
    """Observed state of a ScrapeFlow."""

    observed_generation: Annotated[
        int | None, Field(default=None, ge=0, description="The .metadata.generation this status describes.")
    ]
    phase: Annotated[ScrapeFlowPhase | None, Field(default=None, description="Summary of the flow's state.")]
    target_count: Annotated[int | None, Field(default=None, ge=0, description="Number of targets.")]
    ready_replicas: Annotated[int | None, Field(default=None, ge=0, description="Worker pods ready.")]
    last_run: Annotated[LastRun | None, Field(default=None, description=LastRun.__doc__)]
    next_run_at: Annotated[
        str | None,
        Field(default=None, description="When the next run is due.", json_schema_extra={"format": "date-time"}),
    ]
    conditions: Annotated[list[Condition], conditions_field()]
    kopf: Annotated[dict[str, Any] | None, kopf_state_field()]


SCRAPEFLOW = ResourceKind(
    kind="ScrapeFlow",
    plural="scrapeflows",
    singular="scrapeflow",
    short_names=("bsf",),
    namespaced=True,
    description="Keeps a set of profiles, channels or stores fresh: a worker Deployment scraping them on an "
    "interval or schedule under a rate limit, emitting snapshot events.",
    spec_model=ScrapeFlowSpec,
    status_model=ScrapeFlowStatus,
    printer_columns=(
        PrinterColumn(name="Source", json_path=".spec.source", description="What is scraped"),
        PrinterColumn(name="Targets", json_path=".status.targetCount", type="integer", description="Targets"),
        PrinterColumn(name="Interval", json_path=".spec.interval", description="Re-scrape interval"),
        PHASE_COLUMN,
        PrinterColumn(
            name="Last run",
            json_path=".status.lastRun.finishedAt",
            type="date",
            description="When the last pass finished",
        ),
    ),
    name_max_length=FLOW_NAME_MAX,
    root_rules=(name_rule("ScrapeFlow", FLOW_NAME_MAX),),
)
