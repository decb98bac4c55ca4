"""What every kind's reconciler shares: the outcome type, spec parsing, the tenant gate, status writing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from barista_core.naming import tenant_from_namespace
from barista_operator.api import API_VERSION, ResourceKind
from barista_operator.api.meta import CrdModel
from barista_operator.api.validation import apply_defaults, validate_object
from barista_operator.builders.common import ResourceContext, TenantInfo
from barista_operator.kube import ApiError, resource_type
from barista_operator.reconcile.apply import ChildConflict
from barista_operator.reconcile.backends import BackendUnavailable
from barista_operator.reconcile.directory import TenantView
from barista_operator.reconcile.runtime import Runtime
from barista_operator.reconcile.status import READY, Check, build_status, status_patch


@dataclass
class Outcome:
    """What one reconcile found and wants written."""

    status: dict[str, Any]
    #: A transient failure: retry with backoff.
    retry: bool = False
    #: A failure that needs a spec (or tenant) change: do not retry.
    permanent: bool = False
    #: The resource waits for its tenant to become ready.
    waiting_for_tenant: bool = False
    #: The tenant and the Deployments as this reconcile saw them (the daemon compares later views).
    tenant: TenantView | None = None
    workloads: tuple[Any, ...] = ()
    #: Status keys the operator owns that should be removed when not in ``status``.
    clear: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def phase(self) -> str:
        return str(self.status.get("phase", ""))

    @property
    def ready_condition(self) -> dict[str, Any]:
        return next((c for c in self.status.get("conditions", []) if c["type"] == READY), {})


def meta(body: Mapping[str, Any]) -> tuple[str, str | None, int | None]:
    m = body.get("metadata") or {}
    return m.get("name", ""), m.get("namespace"), m.get("generation")


_PARSED: dict[tuple[str, str, str | None, str], tuple[CrdModel | None, list[str]]] = {}
_PARSED_MAX = 20_000


def parse_spec(kind: ResourceKind, body: Mapping[str, Any]) -> tuple[CrdModel | None, list[str]]:
    """The typed, defaulted spec, or the problems that make it invalid (the same rules as ``barista validate``).

    Memoised by the spec's content: schema and CEL validation dominate a reconcile's CPU time, and the
    same spec is seen again by every re-check.
    """
    meta = body.get("metadata") or {}
    key = (kind.kind, meta.get("name", ""), meta.get("namespace"), json.dumps(body.get("spec"), sort_keys=True))
    cached = _PARSED.get(key)
    if cached is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        cached = _PARSED[key] = _parse_spec(kind, body)
    return cached


def _parse_spec(kind: ResourceKind, body: Mapping[str, Any]) -> tuple[CrdModel | None, list[str]]:
    document = {
        "apiVersion": API_VERSION,
        "kind": kind.kind,
        "metadata": {k: v for k, v in (body.get("metadata") or {}).items() if k in ("name", "namespace")},
        "spec": dict(body.get("spec") or {}),
    }
    issues = validate_object(document)
    if issues:
        return None, [str(issue) for issue in issues]
    return kind.spec_model.model_validate(apply_defaults(kind, document)["spec"]), []


def invalid(body: Mapping[str, Any], problems: list[str], *, reason: str = "InvalidSpec") -> Outcome:
    """Ready=False with the problems; nothing is created."""
    _, _, generation = meta(body)
    message = "; ".join(problems)[:32000]
    status = build_status(
        previous=body.get("status"),
        generation=generation,
        checks=[],
        phase="Failed",
        ready_message="",
        ready=Check(READY, "False", reason, message),
    )
    return Outcome(status=status, permanent=True)


def failure_check(condition: str, exc: Exception) -> tuple[Check, bool]:
    """A failed dependency as a condition, and whether the failure is transient."""
    if isinstance(exc, BackendUnavailable):
        return Check(condition, "False", "BackendUnavailable", str(exc)), True
    if isinstance(exc, ChildConflict):
        return Check(condition, "False", "ChildConflict", str(exc)), False
    if isinstance(exc, ApiError):
        if exc.status == 403:
            return Check(condition, "False", "Forbidden", f"the operator may not do this: {exc}"), True
        if exc.status == 422:
            return Check(condition, "False", "Rejected", f"the API server rejected a child: {exc}"), False
        return Check(condition, "False", "ApiUnavailable", str(exc)), exc.transient
    raise exc


def tenant_gate(rt: Runtime, namespace: str) -> tuple[TenantView | None, Check]:
    """TenantReady for a namespaced resource: its namespace must be a ready tenant's."""
    tenant = tenant_from_namespace(namespace)
    if tenant is None:
        return None, Check(
            "TenantReady",
            "False",
            "NotATenantNamespace",
            f"namespace {namespace} is not a tenant namespace (tenant-<name>): create this resource there",
        )
    view = rt.tenants.get(tenant)
    if view is None:
        return None, Check("TenantReady", "False", "TenantNotReady", f"Tenant {tenant} does not exist (yet)")
    if not view.ready:
        return view, Check("TenantReady", "False", "TenantNotReady", f"Tenant {tenant} is not ready: {view.message}")
    return view, Check("TenantReady", "True", "TenantReady", f"Tenant {tenant} is ready")


def not_admitted(
    body: Mapping[str, Any], gate: Check, view: TenantView | None, *, extra: Mapping[str, Any] | None = None
) -> Outcome:
    """The outcome for a namespaced resource whose tenant gate is closed: it waits for its tenant, or,
    outside a tenant namespace, fails for good."""
    _, _, generation = meta(body)
    not_tenant = gate.reason == "NotATenantNamespace"
    status = build_status(
        previous=body.get("status") or {},
        generation=generation,
        checks=[gate],
        phase="Failed" if not_tenant else "Pending",
        ready_message="",
        extra=extra,
    )
    return Outcome(status=status, permanent=not_tenant, waiting_for_tenant=not not_tenant, tenant=view)


def resource_context(rt: Runtime, body: Mapping[str, Any], tenant: TenantInfo) -> ResourceContext:
    """What the builders need to know about a namespaced resource beyond its spec."""
    name, namespace, _ = meta(body)
    assert namespace is not None
    uid = (body.get("metadata") or {}).get("uid")
    return ResourceContext(name=name, namespace=namespace, uid=uid, tenant=tenant, platform=rt.platform)


#: Phases a new resource passes through on its way to Ready: no Event for entering them from nothing
#: (a Kubernetes Event for every step of every creation would be noise), but one when a settled resource
#: falls back into them.
QUIET_PHASES = frozenset({"Pending", "Provisioning"})
SETTLED = frozenset({"Ready", "Paused", "Suspended", "Degraded", "Failed"})


@dataclass(frozen=True, slots=True)
class Transition:
    """A phase change worth a Kubernetes Event."""

    phase: str
    previous: str | None
    warning: bool
    message: str


def plan_status(
    body: Mapping[str, Any], outcome: Outcome, *, last_written: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], Transition | None]:
    """The status merge patch (what changed, against the body and against what we last wrote) and the
    phase transition worth an Event, if any."""
    current = dict(body.get("status") or {})
    patch = status_patch(current, outcome.status, clear=outcome.clear)
    if last_written:
        patch |= {k: v for k, v in outcome.status.items() if last_written.get(k) != v}
    previous = current.get("phase") if not last_written else last_written.get("phase", current.get("phase"))
    transition = None
    if outcome.phase and outcome.phase != previous and (outcome.phase not in QUIET_PHASES or previous in SETTLED):
        ready = outcome.ready_condition
        transition = Transition(
            phase=outcome.phase,
            previous=previous,
            warning=outcome.phase in ("Failed", "Degraded") or outcome.retry,
            message=f"{ready.get('reason', '')}: {ready.get('message', '')}".strip(": "),
        )
    return patch, transition


async def write_status(rt: Runtime, kind: ResourceKind, body: Mapping[str, Any], patch: Mapping[str, Any]) -> None:
    """Merge-patch the status subresource."""
    if patch:
        name, namespace, _ = meta(body)
        rtype = resource_type(API_VERSION, kind.kind)
        await rt.kube.patch(rtype, namespace, name, {"status": dict(patch)}, subresource="status")
