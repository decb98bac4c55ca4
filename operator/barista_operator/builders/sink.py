"""Sink → its queues and bindings (:func:`sink_queues`) and the sinker Deployment (:func:`build_sink`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from barista_core.broker import QueueSpec
from barista_core.contracts import SinkerSettings
from barista_core.naming import (
    DEAD_LETTER_EXCHANGE,
    sink_binding_key,
    sink_dead_letter_queue,
    sink_queue,
)
from barista_operator.api import SinkSpec
from barista_operator.builders.common import (
    BACKEND_KEYS,
    BACKENDS_SECRET,
    PROBE_PORT,
    Manifest,
    ResourceContext,
    TenantInfo,
    container_resources,
    deployment,
    env_list,
    metadata,
    probes,
    render_env,
    stamp,
)

APP = "barista-sinker"
COMPONENT = "sinker"
DEFAULT_RETENTION_DAYS = 365


SinkContext = ResourceContext


@dataclass(frozen=True, kw_only=True)
class QueuePlan:
    """What the Sink needs in the broker: two queues and the main queue's bindings."""

    queue: QueueSpec
    dead_letter: QueueSpec
    #: Routing keys binding ``queue`` to the events exchange, one per event-type pattern.
    bindings: tuple[str, ...]


def deployment_name(sink: str) -> str:
    return f"sink-{sink}"


def sink_queues(spec: SinkSpec, ctx: SinkContext) -> QueuePlan:
    """Queue ``sink.<tenant>.<name>``, dead-lettering into ``….dead`` through the dead-letter exchange.

    The queue always carries its dead-letter arguments: RabbitMQ refuses to redeclare a queue with
    different arguments, so ``delivery.deadLetter: false`` is honoured by the sinker, not the queue.
    """
    tenant = ctx.tenant.name
    dead = sink_dead_letter_queue(tenant, ctx.name)
    return QueuePlan(
        queue=QueueSpec(
            name=sink_queue(tenant, ctx.name), dead_letter_exchange=DEAD_LETTER_EXCHANGE, dead_letter_routing_key=dead
        ),
        dead_letter=QueueSpec(name=dead),
        bindings=tuple(dict.fromkeys(sink_binding_key(tenant, pattern) for pattern in spec.event_types)),
    )


def ttl_days(spec: SinkSpec, tenant: TenantInfo) -> int:
    """The spec's ttlDays, defaulting to and capped at the tenant's retention."""
    retention = tenant.retention_days or DEFAULT_RETENTION_DAYS
    wanted = spec.clickhouse.ttl_days if spec.clickhouse and spec.clickhouse.ttl_days else retention
    return min(wanted, retention)


def destination(spec: SinkSpec) -> str:
    """Where batches go, for display: ``clickhouse:<table>`` or ``webhook:<host>``."""
    if spec.webhook is not None:
        from urllib.parse import urlsplit

        return f"webhook:{urlsplit(spec.webhook.url).hostname}"
    return f"clickhouse:{spec.clickhouse.table if spec.clickhouse else 'events'}"


def sinker_env(spec: SinkSpec, ctx: SinkContext) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """The sinker's environment, validated by :class:`SinkerSettings` exactly as the sinker will at start-up:
    plain values, and variables taken from Secrets (name → (Secret, key)). Raises ConfigError."""
    plan = sink_queues(spec, ctx)
    values: dict[str, Any] = {
        "tenant": ctx.tenant.name,
        "sink_name": ctx.name,
        "queue": plan.queue.name,
        "dead_letter_queue": plan.dead_letter.name,
        "event_types": list(dict.fromkeys(spec.event_types)),
        "log_format": "json",
        "batch_max_events": spec.batch.max_events,
        "batch_max_bytes": spec.batch.max_bytes,
        "batch_max_delay_ms": spec.batch.max_delay_ms,
        "delivery_max_attempts": spec.delivery.max_attempts,
        "delivery_initial_backoff_ms": spec.delivery.initial_backoff_ms,
        "delivery_max_backoff_ms": spec.delivery.max_backoff_ms,
        "dead_letter": spec.delivery.dead_letter,
    }
    secret_env = {SinkerSettings.env_name("broker_url"): (BACKENDS_SECRET, BACKEND_KEYS["broker"])}
    if spec.webhook is not None:
        values |= {
            "destination": "webhook",
            "webhook_url": spec.webhook.url,
            "webhook_timeout_seconds": spec.webhook.timeout_seconds,
        }
        secrets = ["broker_url", "webhook_secret"]
        secret_env[SinkerSettings.env_name("webhook_secret")] = (
            spec.webhook.secret_ref.name,
            spec.webhook.secret_ref.key,
        )
    else:
        values |= {
            "destination": "clickhouse",
            "clickhouse_table": spec.clickhouse.table if spec.clickhouse else "events",
            "ttl_days": ttl_days(spec, ctx.tenant),
        }
        secrets = ["broker_url", "clickhouse_url"]
        secret_env[SinkerSettings.env_name("clickhouse_url")] = (BACKENDS_SECRET, BACKEND_KEYS["clickhouse"])
    plain = render_env(SinkerSettings, values, secret_fields=secrets)
    return plain, secret_env


def replicas(spec: SinkSpec, tenant: TenantInfo) -> int:
    return 0 if spec.paused or tenant.suspended else spec.replicas


def build_sink(spec: SinkSpec, ctx: SinkContext) -> list[Manifest]:
    """The sinker Deployment: ingest image in sink mode, consuming the Sink's queue."""
    owner = ctx.owner("Sink")
    plain, secret_env = sinker_env(spec, ctx)
    meta = metadata(
        name=deployment_name(ctx.name),
        namespace=ctx.namespace,
        owner=owner,
        tenant=ctx.tenant.name,
        app=APP,
        component=COMPONENT,
    )
    container = {
        "name": COMPONENT,
        "image": ctx.platform.images.ingest,
        "imagePullPolicy": ctx.platform.images.pull_policy,
        "args": ["sink"],
        "ports": [{"name": "probes", "containerPort": PROBE_PORT, "protocol": "TCP"}],
        "env": env_list(plain, secret_env),
        "resources": container_resources(ctx.tenant.plan, spec.resources),
        **probes(),
    }
    return stamp([deployment(meta=meta, app=APP, replicas=replicas(spec, ctx.tenant), container=container)])
