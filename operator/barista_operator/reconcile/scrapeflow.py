"""Reconcile a ScrapeFlow: check what it references, then the worker Deployment (and targets ConfigMap)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from barista_core.errors import ConfigError
from barista_operator.api import SCRAPEFLOW, ScrapeFlowSpec
from barista_operator.builders.scrapeflow import build_scrapeflow, deployment_name
from barista_operator.kube import resource_type
from barista_operator.reconcile.apply import apply_all, prune
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
from barista_operator.reconcile.status import Check, build_status, deployment_check, was_serving

CONFIG_MAP = resource_type("v1", "ConfigMap")
SECRET = resource_type("v1", "Secret")
#: Inline targets live in a ConfigMap of ours; switching to targetsFrom leaves it to prune.
PRUNABLE = (CONFIG_MAP,)
STATUS_KEYS = ("targetCount", "readyReplicas")


async def resolve_references(rt: Runtime, spec: ScrapeFlowSpec, namespace: str) -> tuple[Check | None, int | None]:
    """Whether the targets ConfigMap (and key) and the credentials Secret exist; the number of targets."""
    missing: list[str] = []
    count: int | None = len(spec.targets) if spec.targets is not None else None
    if spec.targets_from is not None:
        ref = spec.targets_from.config_map_key_ref
        config_map = await rt.kube.get(CONFIG_MAP, namespace, ref.name)
        if config_map is None:
            missing.append(f"ConfigMap {ref.name}")
        elif ref.key not in (config_map.get("data") or {}):
            missing.append(f"key {ref.key} in ConfigMap {ref.name}")
        else:
            count = sum(1 for line in config_map["data"][ref.key].splitlines() if line.strip())
    if spec.credentials_secret_ref is not None:
        secret = await rt.kube.get(SECRET, namespace, spec.credentials_secret_ref.name)
        if secret is None:
            missing.append(f"Secret {spec.credentials_secret_ref.name}")
    if not spec.targets_from and not spec.credentials_secret_ref:
        return None, count
    if missing:
        return Check("ReferencesResolved", "False", "ReferenceNotFound", f"not found: {', '.join(missing)}"), count
    return Check("ReferencesResolved", "True", "Found", "targets and credentials found"), count


async def reconcile_scrapeflow(rt: Runtime, body: Mapping[str, Any], *, fresh: bool) -> Outcome:
    name, namespace, generation = meta(body)
    assert namespace is not None
    spec, problems = parse_spec(SCRAPEFLOW, body)
    if spec is None:
        return invalid(body, problems)
    assert isinstance(spec, ScrapeFlowSpec)
    previous = body.get("status") or {}
    view, gate = tenant_gate(rt, namespace)
    if not gate.ok or view is None or view.info is None:
        return not_admitted(body, gate, view)
    tenant = view.info
    ctx = resource_context(rt, body, tenant)
    try:
        desired = build_scrapeflow(spec, ctx)
    except ConfigError as exc:
        return invalid(body, [str(exc)], reason="InvalidConfig")

    checks = [gate]
    extra: dict[str, Any] = {}
    retry = permanent = False
    workloads: tuple[Any, ...] = ()
    try:
        references, count = await resolve_references(rt, spec, namespace)
        if count is not None:
            extra["targetCount"] = count
        if references is not None:
            checks.append(references)
        if references is not None and not references.ok:
            retry = True  # the user may create them any moment; nothing is made until they exist
            checks.append(Check("DeploymentAvailable", "Unknown", "Blocked", "waiting for ReferencesResolved"))
        else:
            applied = await apply_all(rt.kube, desired, create_first=fresh)
            if not fresh:
                await prune(
                    rt.kube,
                    types=PRUNABLE,
                    namespace=namespace,
                    owner_kind="ScrapeFlow",
                    owner_name=name,
                    desired=desired,
                )
            worker = next(a.obj for a in applied if a.obj["metadata"]["name"] == deployment_name(name))
            availability = rt.workloads.record(worker)
            workloads = ((deployment_name(name), availability),)
            checks.append(deployment_check(workloads, "worker pods"))
            extra["readyReplicas"] = min(availability.ready, availability.desired)
    except Exception as exc:
        check, transient = failure_check("DeploymentAvailable", exc)
        checks.append(check)
        retry, permanent = transient, not transient

    ok = all(c.ok for c in checks)
    suspended = spec.suspend or tenant.suspended
    if permanent:
        phase = "Failed"
    elif ok:
        phase = "Suspended" if suspended else "Ready"
    elif was_serving(previous) and not retry:
        phase = "Degraded"
    else:
        phase = "Provisioning"
    status = build_status(
        previous=previous,
        generation=generation,
        checks=checks,
        phase=phase,
        ready_message=f"scraping {spec.source}" + (" (suspended)" if suspended else ""),
        extra=extra,
    )
    return Outcome(status=status, retry=retry, permanent=permanent, tenant=view, workloads=workloads)
