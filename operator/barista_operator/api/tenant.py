"""Tenant (cluster-scoped): one customer of the platform on a plan."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from barista_operator.api.meta import (
    AGE_COLUMN,
    PHASE_COLUMN,
    Condition,
    CrdModel,
    PrinterColumn,
    ResourceKind,
    conditions_field,
    kopf_state_field,
    name_rule,
)

Plan = Literal["FREE", "SAAS", "PAID"]
Tenancy = Literal["pool", "silo"]
DeletionPolicy = Literal["Retain", "Delete"]
TenantPhase = Literal["Pending", "Provisioning", "Ready", "Suspended", "Deleting", "Failed"]

TENANT_NAME_MAX = 56
EMAIL_PATTERN = r"^[^@\s]{1,64}@[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)+$"


class Contact(CrdModel):
    """Someone to reach about this tenant."""

    name: Annotated[str, Field(description="Contact's name.", min_length=1, max_length=100)]
    email: Annotated[str, Field(description="Contact's e-mail address.", max_length=254, pattern=EMAIL_PATTERN)]
    role: Annotated[
        Literal["technical", "billing", "security"],
        Field(default="technical", description="What to contact this person about."),
    ]


class TenantLimits(CrdModel):
    """Overrides of the plan's limits. The operator caps each at the plan's value unless the plan is PAID."""

    api_requests_per_minute: Annotated[
        int | None, Field(default=None, ge=1, le=10_000_000, description="Gateway API requests per minute.")
    ]
    events_per_second: Annotated[
        int | None, Field(default=None, ge=1, le=1_000_000, description="Events per second accepted by ingest.")
    ]
    scrape_requests_per_minute: Annotated[
        int | None,
        Field(default=None, ge=0, le=100_000, description="Outbound scrape requests per minute across all flows."),
    ]
    storage_gib: Annotated[
        int | None, Field(default=None, alias="storageGiB", ge=1, le=100_000, description="Analytics storage in GiB.")
    ]
    retention_days: Annotated[
        int | None, Field(default=None, ge=1, le=3_650, description="Days events are kept in ClickHouse.")
    ]
    max_sinks: Annotated[int | None, Field(default=None, ge=0, le=1_000, description="Maximum number of Sinks.")]
    max_scrape_flows: Annotated[
        int | None, Field(default=None, ge=0, le=1_000, description="Maximum number of ScrapeFlows.")
    ]
    max_pipelines: Annotated[
        int | None, Field(default=None, ge=0, le=1_000, description="Maximum number of Pipelines.")
    ]


class TenantFeatures(CrdModel):
    """Feature overrides within the plan: a feature the plan lacks cannot be switched on here."""

    discovery: Annotated[bool | None, Field(default=None, description="Creator discovery and search API.")]
    leaderboards: Annotated[bool | None, Field(default=None, description="Leaderboards API.")]
    fake_follower_scoring: Annotated[bool | None, Field(default=None, description="Fake-follower scoring API.")]
    webhooks: Annotated[bool | None, Field(default=None, description="Webhook Sinks.")]


class TenantSpec(CrdModel):
    """Desired state of a Tenant."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.tenancy) || self.tenancy != 'silo' || self.plan == 'PAID'",
                    "message": "silo tenancy requires plan PAID",
                    "fieldPath": ".tenancy",
                    "reason": "FieldValueForbidden",
                },
            ]
        }
    )

    display_name: Annotated[str, Field(description="Human-readable tenant name.", min_length=1, max_length=100)]
    plan: Annotated[Plan, Field(description="Commercial plan: FREE, SAAS or PAID. Sets limits and features.")]
    tenancy: Annotated[
        Tenancy,
        Field(
            default="pool",
            description="pool shares the platform's gateway and scoring; silo (PAID only) runs "
            "dedicated ones in the tenant namespace.",
        ),
    ]
    contacts: Annotated[
        list[Contact], Field(default_factory=list, max_length=10, description="People to reach about this tenant.")
    ]
    limits: Annotated[TenantLimits | None, Field(default=None, description=TenantLimits.__doc__)]
    features: Annotated[TenantFeatures | None, Field(default=None, description=TenantFeatures.__doc__)]
    suspended: Annotated[
        bool, Field(default=False, description="Scale the tenant's workloads to zero and refuse its API requests.")
    ]
    deletion_policy: Annotated[
        DeletionPolicy,
        Field(
            default="Retain",
            description="What happens to the tenant's analytics data when the Tenant is deleted: "
            "Retain keeps the ClickHouse database, Delete drops it.",
        ),
    ]


class EffectiveLimits(CrdModel):
    """The limits in force after applying overrides to the plan."""

    api_requests_per_minute: Annotated[int, Field(description="Gateway API requests per minute.")]
    events_per_second: Annotated[int, Field(description="Events per second accepted by ingest.")]
    scrape_requests_per_minute: Annotated[int, Field(description="Outbound scrape requests per minute.")]
    storage_gib: Annotated[int, Field(alias="storageGiB", description="Analytics storage in GiB.")]
    retention_days: Annotated[int, Field(description="Days events are kept.")]
    max_sinks: Annotated[int, Field(description="Maximum number of Sinks.")]
    max_scrape_flows: Annotated[int, Field(description="Maximum number of ScrapeFlows.")]
    max_pipelines: Annotated[int, Field(description="Maximum number of Pipelines.")]


class TenantStatus(CrdModel):
    """Observed state of a Tenant."""

    observed_generation: Annotated[
        int | None, Field(default=None, ge=0, description="The .metadata.generation this status describes.")
    ]
    phase: Annotated[TenantPhase | None, Field(default=None, description="Summary of the tenant's state.")]
    namespace: Annotated[str | None, Field(default=None, description="The tenant's namespace.")]
    credentials_secret: Annotated[
        str | None,
        Field(default=None, description="Secret in the tenant namespace holding the API key and signing material."),
    ]
    effective_limits: Annotated[EffectiveLimits | None, Field(default=None, description=EffectiveLimits.__doc__)]
    features: Annotated[
        list[str], Field(default_factory=list, max_length=16, description="Features in force after overrides.")
    ]
    conditions: Annotated[list[Condition], conditions_field()]
    kopf: Annotated[dict[str, Any] | None, kopf_state_field()]


TENANT = ResourceKind(
    kind="Tenant",
    plural="tenants",
    singular="tenant",
    short_names=("btn",),
    namespaced=False,
    description="A customer of the platform: its plan, limits, features and isolation. The operator creates "
    "the namespace tenant-<name>, quota, network policy, credentials, registry row and analytics database.",
    spec_model=TenantSpec,
    status_model=TenantStatus,
    printer_columns=(
        PrinterColumn(name="Plan", json_path=".spec.plan", description="Commercial plan"),
        PrinterColumn(name="Tenancy", json_path=".spec.tenancy", description="pool or silo"),
        PHASE_COLUMN,
        PrinterColumn(name="Namespace", json_path=".status.namespace", description="The tenant's namespace"),
        AGE_COLUMN,
    ),
    name_max_length=TENANT_NAME_MAX,
    root_rules=(name_rule("Tenant", TENANT_NAME_MAX),),
)
