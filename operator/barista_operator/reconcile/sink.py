"""Reconcile a Sink: its queues and bindings in the broker, then the sinker Deployment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from barista_core.broker import Broker
from barista_core.errors import ConfigError
from barista_core.naming import (
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    sink_dead_letter_queue,
    sink_queue,
    tenant_from_namespace,
)
from barista_core.plans import Feature
from barista_operator.api import SINK, SinkSpec
from barista_operator.builders.sink import QueuePlan, build_sink, deployment_name, destination, sink_queues
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
from barista_operator.reconcile.status import Check, build_status, deployment_check, was_serving

STATUS_KEYS = ("queue", "deadLetterQueue", "destination", "readyReplicas", "bindings")


async def ensure_queues(broker: Broker, plan: QueuePlan, *, stale: Iterable[str] = ()) -> None:
    """Declare both queues, bind the dead-letter queue and every pattern, unbind patterns no longer wanted."""
    await broker.declare_queue(plan.dead_letter)
    await broker.bind_queue(plan.dead_letter.name, DEAD_LETTER_EXCHANGE, plan.dead_letter.name)
    await broker.declare_queue(plan.queue)
    for key in plan.bindings:
        await broker.bind_queue(plan.queue.name, EVENTS_EXCHANGE, key)
    for key in stale:
        if key not in plan.bindings:
            await broker.unbind_queue(plan.queue.name, EVENTS_EXCHANGE, key)


async def reconcile_sink(rt: Runtime, body: Mapping[str, Any], *, fresh: bool) -> Outcome:
    name, namespace, generation = meta(body)
    assert namespace is not None
    spec, problems = parse_spec(SINK, body)
    if spec is None:
        return invalid(body, problems)
    assert isinstance(spec, SinkSpec)
    previous = body.get("status") or {}
    tenant_name = tenant_from_namespace(namespace)
    extra: dict[str, Any] = {"destination": destination(spec)}
    if tenant_name:
        extra |= {"queue": sink_queue(tenant_name, name), "deadLetterQueue": sink_dead_letter_queue(tenant_name, name)}

    view, gate = tenant_gate(rt, namespace)
    if not gate.ok or view is None or view.info is None:
        return not_admitted(body, gate, view, extra=extra)
    tenant = view.info
    checks = [gate]
    if spec.webhook is not None and Feature.WEBHOOKS not in tenant.features:
        checks.append(
            Check(
                "FeatureEnabled",
                "False",
                "FeatureNotInPlan",
                f"webhook Sinks need the webhooks feature, which tenant {tenant.name} (plan {tenant.plan}) lacks",
            )
        )
        status = build_status(
            previous=previous, generation=generation, checks=checks, phase="Failed", ready_message="", extra=extra
        )
        return Outcome(status=status, permanent=True, tenant=view)

    ctx = resource_context(rt, body, tenant)
    try:
        desired = build_sink(spec, ctx)
    except ConfigError as exc:
        return invalid(body, [str(exc)], reason="InvalidConfig")

    retry = permanent = False
    bindings = list(previous.get("bindings") or [])
    queue_ok = True
    if rt.settings.manages("broker"):
        plan = sink_queues(spec, ctx)
        try:
            await rt.backends.with_broker(lambda broker: ensure_queues(broker, plan, stale=bindings))
            bindings = list(plan.bindings)
            checks.append(
                Check(
                    "QueueReady",
                    "True",
                    "QueueBound",
                    f"queue {plan.queue.name} bound with {len(plan.bindings)} pattern(s); "
                    f"dead letters go to {plan.dead_letter.name}",
                )
            )
        except Exception as exc:
            check, transient = failure_check("QueueReady", exc)
            checks.append(check)
            retry, queue_ok = transient, False
    extra["bindings"] = bindings

    workloads: tuple[Any, ...] = ()
    if not queue_ok:
        checks.append(Check("DeploymentAvailable", "Unknown", "Blocked", "waiting for QueueReady"))
    else:
        try:
            applied = await apply(rt.kube, desired[0], create_first=fresh)
            availability = rt.workloads.record(applied.obj)
            workloads = ((deployment_name(name), availability),)
            checks.append(deployment_check(workloads, "sinker pods"))
            extra["readyReplicas"] = min(availability.ready, availability.desired)
        except Exception as exc:
            check, transient = failure_check("DeploymentAvailable", exc)
            checks.append(check)
            retry, permanent = retry or transient, permanent or not transient

    ok = all(c.ok for c in checks)
    paused = spec.paused or tenant.suspended
    if permanent:
        phase = "Failed"
    elif ok:
        phase = "Paused" if paused else "Ready"
    elif was_serving(previous) and queue_ok and not retry:
        phase = "Degraded"
    else:
        phase = "Provisioning"
    why_paused = " (paused)" if spec.paused else " (tenant suspended)" if tenant.suspended else ""
    status = build_status(
        previous=previous,
        generation=generation,
        checks=checks,
        phase=phase,
        ready_message=f"delivering to {extra['destination']}{why_paused}",
        extra=extra,
    )
    return Outcome(status=status, retry=retry, permanent=permanent, tenant=view, workloads=workloads)


async def finalize_sink(rt: Runtime, body: Mapping[str, Any]) -> list[str]:
    """Delete the Sink's queues: they live outside the cluster, and an orphaned queue stays bound to the
    event exchange, collecting the tenant's events with no consumer until the broker runs out of memory."""
    name, namespace, _ = meta(body)
    tenant = tenant_from_namespace(namespace or "")
    if tenant is None or not rt.settings.manages("broker"):
        return []
    queue, dead = sink_queue(tenant, name), sink_dead_letter_queue(tenant, name)

    async def delete(broker: Broker) -> None:
        await broker.delete_queue(queue)
        await broker.delete_queue(dead)

    await rt.backends.with_broker(delete)
    return [f"queues {queue} and {dead} deleted"]
