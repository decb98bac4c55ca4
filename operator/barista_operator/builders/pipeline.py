"""Pipeline → a ConfigMap with the rendered DAG spec, labelled for Barista's Airflow DAG factory.

The DAG spec (format ``barista.dev/dag-spec/v1``) is JSON::

    {"format": "barista.dev/dag-spec/v1", "dagId": "<tenant>__<pipeline>", "tenant": …, "pipeline": …,
     "namespace": …, "schedule": "0 * * * *", "paused": false, "retries": 2, "timeoutMinutes": 60,
     "steps": [{"name": "models", "type": "dbt", "after": [], "dbt": {…}}, …]}

Steps keep the order of the spec; ``after`` lists the steps each one depends on. The ConfigMap carries
the spec's sha256 in the ``barista.dev/content-hash`` annotation so the factory can skip unchanged specs.
"""

from __future__ import annotations

import json
from typing import Any

from barista_operator import labels as L
from barista_operator.api import PipelineSpec
from barista_operator.builders.common import Manifest, ResourceContext, content_hash, metadata, stamp

APP = "barista-pipeline"
COMPONENT = "dag-spec"
DAG_SPEC_FORMAT = "barista.dev/dag-spec/v1"
DAG_SPEC_KEY = "dag-spec.json"

PipelineContext = ResourceContext


def dag_id(tenant: str, pipeline: str) -> str:
    return f"{tenant}__{pipeline}"


def config_map_name(pipeline: str) -> str:
    return f"pipeline-{pipeline}"


def dag_spec(spec: PipelineSpec, ctx: PipelineContext) -> dict[str, Any]:
    """The DAG spec the factory turns into an Airflow DAG."""
    steps = []
    for step in spec.steps:
        kind, config = next((k, v) for k, v in (("dbt", step.dbt), ("score", step.score), ("sync", step.sync)) if v)
        steps.append({"name": step.name, "type": kind, "after": list(step.after), kind: config.to_wire()})
    return {
        "format": DAG_SPEC_FORMAT,
        "dagId": dag_id(ctx.tenant.name, ctx.name),
        "tenant": ctx.tenant.name,
        "pipeline": ctx.name,
        "namespace": ctx.namespace,
        "schedule": spec.schedule,
        "paused": spec.suspend or ctx.tenant.suspended,
        "retries": spec.retries,
        "timeoutMinutes": spec.timeout_minutes,
        "steps": steps,
    }


def render_dag_spec(spec: PipelineSpec, ctx: PipelineContext) -> str:
    return json.dumps(dag_spec(spec, ctx), indent=2, sort_keys=True) + "\n"


def build_pipeline(spec: PipelineSpec, ctx: PipelineContext) -> list[Manifest]:
    text = render_dag_spec(spec, ctx)
    meta = metadata(
        name=config_map_name(ctx.name),
        namespace=ctx.namespace,
        owner=ctx.owner("Pipeline"),
        tenant=ctx.tenant.name,
        app=APP,
        component=COMPONENT,
        extra_labels={L.DAG_SPEC: "true"},
        annotations={L.CONTENT_HASH: content_hash(text)},
    )
    return stamp([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {DAG_SPEC_KEY: text}}])
