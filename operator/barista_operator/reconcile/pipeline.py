"""Reconcile a Pipeline: publish its rendered DAG spec in a ConfigMap for the Airflow DAG factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from barista_operator.api import PIPELINE, PipelineSpec
from barista_operator.builders.pipeline import build_pipeline, config_map_name, dag_id
from barista_operator.reconcile.apply import apply
from barista_operator.reconcile.common import (
    Outcome,
    failure_check,
    invalid,
    meta,
    not_admitted,
    parse_spec,
    resource_context,
    tenant_gate,
)
from barista_operator.reconcile.runtime import Runtime
from barista_operator.reconcile.status import Check, build_status

STATUS_KEYS = ("dagId", "configMap", "stepCount")


async def reconcile_pipeline(rt: Runtime, body: Mapping[str, Any], *, fresh: bool) -> Outcome:
    name, namespace, generation = meta(body)
    assert namespace is not None
    spec, problems = parse_spec(PIPELINE, body)
    if spec is None:
        return invalid(body, problems)
    assert isinstance(spec, PipelineSpec)
    previous = body.get("status") or {}
    view, gate = tenant_gate(rt, namespace)
    if not gate.ok or view is None or view.info is None:
        return not_admitted(body, gate, view)
    tenant = view.info
    ctx = resource_context(rt, body, tenant)
    desired = build_pipeline(spec, ctx)
    checks = [gate]
    retry = permanent = False
    try:
        await apply(rt.kube, desired[0], create_first=fresh)
        checks.append(Check("DagSpecPublished", "True", "Published", f"DAG spec in ConfigMap {config_map_name(name)}"))
    except Exception as exc:
        check, transient = failure_check("DagSpecPublished", exc)
        checks.append(check)
        retry, permanent = transient, not transient
    paused = spec.suspend or tenant.suspended
    ok = all(c.ok for c in checks)
    phase = "Failed" if permanent else ("Suspended" if paused else "Ready") if ok else "Pending"
    status = build_status(
        previous=previous,
        generation=generation,
        checks=checks,
        phase=phase,
        ready_message=f"DAG {dag_id(tenant.name, name)} published" + (" (paused)" if paused else ""),
        extra={"dagId": dag_id(tenant.name, name), "configMap": config_map_name(name), "stepCount": len(spec.steps)},
    )
    return Outcome(status=status, retry=retry, permanent=permanent, tenant=view)
