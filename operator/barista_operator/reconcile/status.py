"""Pure status computation: dependency checks → conditions, Ready, phase, observedGeneration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from barista_operator.conditions import Status, get_condition, set_condition

READY = "Ready"


@dataclass(frozen=True, slots=True)
class Check:
    """One dependency's state, reported as a condition of the same type."""

    type: str
    status: Status
    reason: str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "True"


@dataclass(frozen=True, slots=True)
class Availability:
    """What a Deployment's status says about its pods."""

    exists: bool
    desired: int = 0
    available: int = 0
    ready: int = 0
    current: bool = True  # the controller has seen the latest spec (observedGeneration >= generation)
    stalled: str | None = None  # message of a ProgressDeadlineExceeded condition

    @classmethod
    def missing(cls) -> Availability:
        return cls(exists=False)

    @classmethod
    def of(cls, deployment: Mapping[str, Any] | None) -> Availability:
        if deployment is None:
            return cls.missing()
        spec = deployment.get("spec") or {}
        status = deployment.get("status") or {}
        generation = (deployment.get("metadata") or {}).get("generation")
        observed = status.get("observedGeneration")
        stalled = next(
            (
                c.get("message") or "progress deadline exceeded"
                for c in status.get("conditions") or []
                if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded"
            ),
            None,
        )
        return cls(
            exists=True,
            desired=int(spec.get("replicas", 1)),
            available=int(status.get("availableReplicas") or 0),
            ready=int(status.get("readyReplicas") or 0),
            current=generation is None or observed is None or observed >= generation,
            stalled=stalled,
        )


def deployment_check(items: Iterable[tuple[str, Availability]], what: str = "pods") -> Check:
    """``DeploymentAvailable`` over one or more Deployments (name, availability)."""
    items = list(items)
    missing = [name for name, a in items if not a.exists]
    if missing:
        return Check("DeploymentAvailable", "False", "DeploymentMissing", f"Deployment {', '.join(missing)} not found")
    stalled = [(name, a.stalled) for name, a in items if a.stalled]
    if stalled:
        return Check(
            "DeploymentAvailable", "False", "ProgressDeadlineExceeded", "; ".join(f"{n}: {m}" for n, m in stalled)
        )
    desired = sum(a.desired for _, a in items)
    available = sum(min(a.available, a.desired) for _, a in items)
    if desired == 0:
        return Check("DeploymentAvailable", "True", "ScaledToZero", f"scaled to zero: no {what} run")
    if available >= desired and all(a.current for _, a in items):
        return Check(
            "DeploymentAvailable", "True", "MinimumReplicasAvailable", f"{available}/{desired} {what} available"
        )
    return Check("DeploymentAvailable", "False", "WaitingForPods", f"{available}/{desired} {what} available")


def build_status(
    *,
    previous: Mapping[str, Any] | None,
    generation: int | None,
    checks: Iterable[Check],
    phase: str,
    ready_message: str,
    extra: Mapping[str, Any] | None = None,
    ready: Check | None = None,
    now: str | None = None,
) -> dict[str, Any]:
    """The full status we own: conditions (one per check, plus Ready), phase, observedGeneration, extras.

    Ready is True only when every check is; otherwise it carries the first failing check's reason and
    message (``ready`` overrides it, e.g. for an invalid spec). Conditions of types no longer checked are
    dropped; lastTransitionTime moves only when a condition's status changes.
    """
    previous = previous or {}
    checks = list(checks)
    conditions: list[dict[str, Any]] = []
    old = previous.get("conditions") or []
    for check in checks:
        conditions = set_condition(
            conditions,
            type=check.type,
            status=check.status,
            reason=check.reason,
            message=check.message,
            generation=generation,
            now=_keep_time(old, check.type, check.status, now),
        )
    failing = next((c for c in checks if not c.ok), None)
    if ready is not None:
        pass
    elif failing is None:
        ready = Check(READY, "True", "Reconciled", ready_message)
    else:
        status: Status = "False" if failing.status == "False" else "Unknown"
        ready = Check(READY, status, failing.reason, f"{failing.type}: {failing.message}")
    conditions = set_condition(
        conditions,
        type=READY,
        status=ready.status,
        reason=ready.reason,
        message=ready.message,
        generation=generation,
        now=_keep_time(old, READY, ready.status, now),
    )
    conditions.sort(key=lambda c: (c["type"] != READY, c["type"]))
    out: dict[str, Any] = {"phase": phase, "conditions": conditions}
    if generation is not None:
        out["observedGeneration"] = generation
    out.update(extra or {})
    return out


def _keep_time(old: list[dict[str, Any]], type: str, status: str, now: str | None) -> str | None:
    """The previous lastTransitionTime when the status did not change, else ``now``."""
    existing = get_condition(old, type)
    if existing is not None and existing.get("status") == status and existing.get("lastTransitionTime"):
        return existing["lastTransitionTime"]
    return now


def was_serving(status: Mapping[str, Any] | None) -> bool:
    """Whether the resource had reached Ready (and may since have lost pods): a failing Deployment then
    means Degraded, and stays Degraded on later reconciles, rather than Provisioning."""
    return is_ready(status) or (status or {}).get("phase") == "Degraded"


def is_ready(status: Mapping[str, Any] | None) -> bool:
    condition = get_condition((status or {}).get("conditions"), READY)
    return condition is not None and condition.get("status") == "True"


def status_patch(
    current: Mapping[str, Any] | None, desired: Mapping[str, Any], *, clear: Iterable[str] = ()
) -> dict[str, Any]:
    """The merge patch from ``current`` to ``desired`` (keys in ``clear`` absent from desired are removed)."""
    current = current or {}
    patch = {k: v for k, v in desired.items() if current.get(k) != v}
    for key in clear:
        if key not in desired and current.get(key) is not None:
            patch[key] = None
    return patch
