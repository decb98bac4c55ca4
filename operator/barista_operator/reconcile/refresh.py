"""Status-only refresh when nothing but Deployment availability changed: no API reads, no backend calls.

The other conditions are carried over from the last reconcile (they describe the same generation);
only DeploymentAvailable, Ready, phase and readyReplicas are recomputed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from barista_core.naming import tenant_namespace
from barista_operator.builders.scrapeflow import deployment_name as flow_deployment
from barista_operator.builders.sink import deployment_name as sink_deployment
from barista_operator.builders.tenant import GATEWAY, SCORING
from barista_operator.reconcile.common import Outcome, meta
from barista_operator.reconcile.directory import TenantView, WorkloadDirectory
from barista_operator.reconcile.status import READY, Availability, Check, build_status, deployment_check

DEPLOYMENT_AVAILABLE = "DeploymentAvailable"
PhaseFn = Callable[[bool, Mapping[str, Any]], str]


def workloads_of(
    kind: str, body: Mapping[str, Any], workloads: WorkloadDirectory
) -> tuple[tuple[str, Availability], ...]:
    """The Deployments ``body`` runs, as the watch stream last showed them (missing when never seen)."""
    name, namespace, _ = meta(body)
    if kind == "Tenant":
        if (body.get("spec") or {}).get("tenancy") != "silo":
            return ()
        ns = tenant_namespace(name)
        names = (GATEWAY, SCORING)
    elif kind == "Sink":
        ns, names = namespace or "", (sink_deployment(name),)
    elif kind == "ScrapeFlow":
        ns, names = namespace or "", (flow_deployment(name),)
    else:
        return ()
    return tuple((n, workloads.get(ns, n) or Availability.missing()) for n in names)


def refresh(
    kind: str,
    body: Mapping[str, Any],
    workloads: Sequence[tuple[str, Availability]],
    tenant: TenantView | None,
    *,
    previous: Mapping[str, Any] | None = None,
) -> Outcome | None:
    """The refreshed status, or None when a full reconcile is needed instead.

    ``previous``: the status this operator last wrote, when the body's may not show it yet (the watch
    event of our own status patch can arrive after the Deployment event that woke us)."""
    previous = previous or body.get("status") or {}
    conditions = previous.get("conditions") or []
    if not workloads or not any(c.get("type") == DEPLOYMENT_AVAILABLE for c in conditions):
        return None
    if any(not a.exists for _, a in workloads) or previous.get("phase") in ("Failed", "Pending", None):
        return None
    spec = body.get("spec") or {}
    suspended_tenant = bool(tenant and tenant.info and tenant.info.suspended)
    checks = [
        Check(c["type"], c["status"], c["reason"], c.get("message", ""))
        for c in conditions
        if c.get("type") not in (READY, DEPLOYMENT_AVAILABLE)
    ]
    what = {"Tenant": "gateway and scoring pods", "Sink": "sinker pods", "ScrapeFlow": "worker pods"}[kind]
    checks.append(deployment_check(workloads, what))
    ok = all(c.ok for c in checks)
    was_ready = previous.get("phase") in ("Ready", "Paused", "Suspended", "Degraded")
    if kind == "Tenant":
        quiet, ready_phase = bool(spec.get("suspended")), "Suspended"
    elif kind == "Sink":
        quiet, ready_phase = bool(spec.get("paused")) or suspended_tenant, "Paused"
    else:
        quiet, ready_phase = bool(spec.get("suspend")) or suspended_tenant, "Suspended"
    if ok:
        phase = ready_phase if quiet else "Ready"
    else:
        phase = "Degraded" if was_ready and kind != "Tenant" else "Provisioning"
    old_ready = next((c for c in conditions if c.get("type") == READY), {})
    ready_message = old_ready.get("message", "") if old_ready.get("status") == "True" else f"{kind} is reconciled"
    extra: dict[str, Any] = {}
    if kind != "Tenant":
        extra["readyReplicas"] = sum(min(a.ready, a.desired) for _, a in workloads)
    status = build_status(
        previous=previous,
        generation=previous.get("observedGeneration"),
        checks=checks,
        phase=phase,
        ready_message=ready_message,
        extra=extra,
    )
    return Outcome(status=status, tenant=tenant, workloads=tuple(workloads))
