"""Pure builders: typed spec + one frozen context → the manifests (and broker/registry plans) a resource needs.

Nothing here performs I/O or imports kopf or a Kubernetes client; ``barista render``, the reconcilers and
the tests all call the same functions.
"""

from barista_operator.builders.common import (
    BACKENDS_SECRET,
    CREDENTIALS_SECRET,
    Images,
    Manifest,
    Owner,
    Platform,
    ResourceContext,
    TenantInfo,
)
from barista_operator.builders.pipeline import build_pipeline, dag_spec
from barista_operator.builders.scrapeflow import build_scrapeflow
from barista_operator.builders.sink import QueuePlan, build_sink, sink_queues
from barista_operator.builders.tenant import TenantContext, TenantCredentials, build_tenant, tenant_record

__all__ = [
    "BACKENDS_SECRET",
    "CREDENTIALS_SECRET",
    "Images",
    "Manifest",
    "Owner",
    "Platform",
    "QueuePlan",
    "ResourceContext",
    "TenantContext",
    "TenantCredentials",
    "TenantInfo",
    "build_pipeline",
    "build_scrapeflow",
    "build_sink",
    "build_tenant",
    "dag_spec",
    "sink_queues",
    "tenant_record",
]
