"""Barista's resource API (barista.dev/v1alpha1): typed specs, CRD generation and validation."""

from barista_operator.api.meta import API_VERSION, GROUP, VERSION, Condition, ResourceKind
from barista_operator.api.pipeline import PIPELINE, PipelineSpec, PipelineStatus
from barista_operator.api.scrapeflow import SCRAPEFLOW, ScrapeFlowSpec, ScrapeFlowStatus
from barista_operator.api.sink import SINK, SinkSpec, SinkStatus
from barista_operator.api.tenant import TENANT, TenantSpec, TenantStatus

KINDS: tuple[ResourceKind, ...] = (TENANT, SINK, SCRAPEFLOW, PIPELINE)
KINDS_BY_NAME: dict[str, ResourceKind] = {k.kind: k for k in KINDS}

__all__ = [
    "API_VERSION",
    "GROUP",
    "KINDS",
    "KINDS_BY_NAME",
    "PIPELINE",
    "SCRAPEFLOW",
    "SINK",
    "TENANT",
    "VERSION",
    "Condition",
    "PipelineSpec",
    "PipelineStatus",
    "ResourceKind",
    "ScrapeFlowSpec",
    "ScrapeFlowStatus",
    "SinkSpec",
    "SinkStatus",
    "TenantSpec",
    "TenantStatus",
]
