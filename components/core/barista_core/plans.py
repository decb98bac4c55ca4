"""The plan catalogue: FREE / SAAS / PAID limits and feature gates.

This table is the single source of truth for the operator (quotas, effective limits), the gateway
(rate limits, feature gates) and the CLI. Nothing else may restate a plan's numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any


class Plan(StrEnum):
    FREE = "FREE"
    SAAS = "SAAS"
    PAID = "PAID"


class Feature(StrEnum):
    """Feature gates. Values are the camelCase names used in the Tenant CR and API error bodies."""

    DISCOVERY = "discovery"
    LEADERBOARDS = "leaderboards"
    FAKE_FOLLOWER_SCORING = "fakeFollowerScoring"
    WEBHOOKS = "webhooks"
    DEDICATED_TENANCY = "dedicatedTenancy"


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Per-tenant limits. Field names map 1:1 to the Tenant CR's camelCase ``spec.limits``."""

    api_requests_per_minute: int
    events_per_second: int
    scrape_requests_per_minute: int
    storage_gib: int
    retention_days: int
    max_sinks: int
    max_scrape_flows: int
    max_pipelines: int

    def to_camel(self) -> dict[str, int]:
        return {_camel(k): v for k, v in asdict(self).items()}

    @classmethod
    def from_camel(cls, values: dict[str, int]) -> Limits:
        return cls(**{_snake(k): int(v) for k, v in values.items()})

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True, slots=True, kw_only=True)
class NamespaceQuota:
    """What a tenant namespace may consume (ResourceQuota + LimitRange defaults)."""

    requests_cpu: str
    requests_memory: str
    limits_cpu: str
    limits_memory: str
    pods: int
    default_request_cpu: str
    default_request_memory: str
    default_limit_cpu: str
    default_limit_memory: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSpec:
    plan: Plan
    limits: Limits
    features: frozenset[Feature]
    quota: NamespaceQuota
    #: Whether ``spec.limits`` may raise limits above this plan's values.
    limits_uncapped: bool = False


PLANS: dict[Plan, PlanSpec] = {
    Plan.FREE: PlanSpec(
        plan=Plan.FREE,
        limits=Limits(
            api_requests_per_minute=60,
            events_per_second=50,
            scrape_requests_per_minute=10,
            storage_gib=1,
            retention_days=30,
            max_sinks=1,
            max_scrape_flows=2,
            max_pipelines=1,
        ),
        features=frozenset({Feature.DISCOVERY}),
        quota=NamespaceQuota(
            requests_cpu="500m",
            requests_memory="512Mi",
            limits_cpu="1",
            limits_memory="1Gi",
            pods=5,
            default_request_cpu="50m",
            default_request_memory="64Mi",
            default_limit_cpu="250m",
            default_limit_memory="256Mi",
        ),
    ),
    Plan.SAAS: PlanSpec(
        plan=Plan.SAAS,
        limits=Limits(
            api_requests_per_minute=6_000,
            events_per_second=2_000,
            scrape_requests_per_minute=120,
            storage_gib=50,
            retention_days=365,
            max_sinks=10,
            max_scrape_flows=25,
            max_pipelines=10,
        ),
        features=frozenset({Feature.DISCOVERY, Feature.LEADERBOARDS, Feature.WEBHOOKS}),
        quota=NamespaceQuota(
            requests_cpu="4",
            requests_memory="8Gi",
            limits_cpu="8",
            limits_memory="16Gi",
            pods=40,
            default_request_cpu="100m",
            default_request_memory="128Mi",
            default_limit_cpu="500m",
            default_limit_memory="512Mi",
        ),
    ),
    Plan.PAID: PlanSpec(
        plan=Plan.PAID,
        limits=Limits(
            api_requests_per_minute=60_000,
            events_per_second=20_000,
            scrape_requests_per_minute=1_200,
            storage_gib=1_000,
            retention_days=1_095,
            max_sinks=50,
            max_scrape_flows=200,
            max_pipelines=50,
        ),
        features=frozenset(Feature),
        quota=NamespaceQuota(
            requests_cpu="32",
            requests_memory="64Gi",
            limits_cpu="64",
            limits_memory="128Gi",
            pods=300,
            default_request_cpu="100m",
            default_request_memory="128Mi",
            default_limit_cpu="1",
            default_limit_memory="1Gi",
        ),
        limits_uncapped=True,
    ),
}


def plan_spec(plan: Plan | str) -> PlanSpec:
    return PLANS[Plan(plan)]


def minimum_plan_for(feature: Feature) -> Plan:
    """The cheapest plan that includes ``feature`` (for ``feature_not_in_plan`` errors)."""
    for plan in (Plan.FREE, Plan.SAAS, Plan.PAID):
        if feature in PLANS[plan].features:
            return plan
    raise LookupError(feature)  # pragma: no cover - every feature is in PAID


def effective_limits(plan: Plan | str, overrides: dict[str, Any] | None = None) -> Limits:
    """The plan's limits with ``overrides`` (camelCase or snake_case keys) applied.

    Overrides may lower any limit; they may raise one only on plans whose limits are uncapped (PAID).
    """
    spec = plan_spec(plan)
    if not overrides:
        return spec.limits
    changes: dict[str, int] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        name = _snake(key)
        if name not in Limits.field_names():
            raise KeyError(f"unknown limit {key!r}")
        base = getattr(spec.limits, name)
        changes[name] = int(value) if spec.limits_uncapped else min(int(value), base)
    return replace(spec.limits, **changes)


def effective_features(plan: Plan | str, overrides: dict[str, bool] | None = None) -> frozenset[Feature]:
    """The plan's features with ``overrides`` applied: a feature may be switched off, never on beyond the plan."""
    spec = plan_spec(plan)
    enabled = set(spec.features)
    for key, on in (overrides or {}).items():
        if on is None:
            continue
        feature = Feature(key)
        if not on:
            enabled.discard(feature)
        elif feature in spec.features:
            enabled.add(feature)
    return frozenset(enabled)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() if part != "gib" else "GiB" for part in rest)


def _snake(name: str) -> str:
    if "_" in name or name.islower():
        return name
    out = []
    for ch in name.replace("GiB", "Gib"):
        if ch.isupper():
            out.append("_" + ch.lower())
        else:
            out.append(ch)
    return "".join(out)
