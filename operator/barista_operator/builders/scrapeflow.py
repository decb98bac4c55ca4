"""ScrapeFlow → a worker Deployment (and, for inline targets, the ConfigMap holding them)."""

from __future__ import annotations

import re
from typing import Any

from barista_core.contracts import WorkerSettings
from barista_operator import labels as L
from barista_operator.api import ScrapeFlowSpec
from barista_operator.builders.common import (
    BACKEND_KEYS,
    BACKENDS_SECRET,
    PROBE_PORT,
    Manifest,
    ResourceContext,
    TenantInfo,
    container_resources,
    content_hash,
    deployment,
    env_list,
    metadata,
    probes,
    render_env,
    stamp,
)

APP = "barista-worker"
COMPONENT = "worker"
TARGETS_DIR = "/etc/barista/targets"
TARGETS_FILE = "targets.txt"
CREDENTIALS_DIR = "/etc/barista/credentials"

ScrapeFlowContext = ResourceContext

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    """Seconds in a Go duration such as ``6h``, ``1h30m`` or ``90s``."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def deployment_name(flow: str) -> str:
    return f"flow-{flow}"


def targets_config_map_name(flow: str) -> str:
    return f"flow-{flow}-targets"


def worker_env(spec: ScrapeFlowSpec, ctx: ScrapeFlowContext) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """The worker's environment, validated by :class:`WorkerSettings` as the worker will at start-up."""
    values: dict[str, Any] = {
        "tenant": ctx.tenant.name,
        "flow_name": ctx.name,
        "source": spec.source,
        "targets_file": f"{TARGETS_DIR}/{TARGETS_FILE}",
        "concurrency": spec.concurrency,
        "enrich_categories": spec.enrich.categories,
        "enrich_language": spec.enrich.language,
        "log_format": "json",
    }
    if spec.interval is not None:
        values["interval_seconds"] = int(duration_seconds(spec.interval))
    else:
        values["schedule"] = spec.schedule
    if spec.rate_limit is not None:
        values |= {
            "rate_limit_requests": spec.rate_limit.requests,
            "rate_limit_period_seconds": duration_seconds(spec.rate_limit.period),
            "rate_limit_scope": spec.rate_limit.scope,
        }
    if spec.credentials_secret_ref is not None:
        values["credentials_dir"] = CREDENTIALS_DIR
    if spec.http is not None:
        values["http_json"] = spec.http.to_wire()
    plain = render_env(WorkerSettings, values, secret_fields=["broker_url", "redis_url"])
    secret_env = {
        WorkerSettings.env_name("broker_url"): (BACKENDS_SECRET, BACKEND_KEYS["broker"]),
        WorkerSettings.env_name("redis_url"): (BACKENDS_SECRET, BACKEND_KEYS["redis"]),
    }
    return plain, secret_env


def replicas(spec: ScrapeFlowSpec, tenant: TenantInfo) -> int:
    return 0 if spec.suspend or tenant.suspended else spec.workers


def build_scrapeflow(spec: ScrapeFlowSpec, ctx: ScrapeFlowContext) -> list[Manifest]:
    owner = ctx.owner("ScrapeFlow")

    def meta(name: str, component: str) -> dict[str, Any]:
        return metadata(
            name=name, namespace=ctx.namespace, owner=owner, tenant=ctx.tenant.name, app=APP, component=component
        )

    manifests: list[Manifest] = []
    pod_annotations: dict[str, str] = {}
    if spec.targets is not None:
        text = "".join(f"{target}\n" for target in spec.targets)
        manifests.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta(targets_config_map_name(ctx.name), "targets"),
                "data": {TARGETS_FILE: text},
            }
        )
        targets_source = {"name": targets_config_map_name(ctx.name)}
        pod_annotations[L.TARGETS_HASH] = content_hash(text)
    else:
        assert spec.targets_from is not None  # the schema requires exactly one
        ref = spec.targets_from.config_map_key_ref
        targets_source = {"name": ref.name, "items": [{"key": ref.key, "path": TARGETS_FILE}]}

    volumes: list[dict[str, Any]] = [{"name": "targets", "configMap": targets_source}]
    mounts: list[dict[str, Any]] = [{"name": "targets", "mountPath": TARGETS_DIR, "readOnly": True}]
    if spec.credentials_secret_ref is not None:
        volumes.append(
            {"name": "credentials", "secret": {"secretName": spec.credentials_secret_ref.name, "defaultMode": 0o440}}
        )
        mounts.append({"name": "credentials", "mountPath": CREDENTIALS_DIR, "readOnly": True})

    plain, secret_env = worker_env(spec, ctx)
    container = {
        "name": COMPONENT,
        "image": ctx.platform.images.worker,
        "imagePullPolicy": ctx.platform.images.pull_policy,
        "ports": [{"name": "probes", "containerPort": PROBE_PORT, "protocol": "TCP"}],
        "env": env_list(plain, secret_env),
        "resources": container_resources(ctx.tenant.plan, spec.resources),
        "volumeMounts": mounts,
        **probes(),
    }
    workload = deployment(
        meta=meta(deployment_name(ctx.name), COMPONENT),
        app=APP,
        replicas=replicas(spec, ctx.tenant),
        container=container,
        volumes=volumes,
    )
    if pod_annotations:
        workload["spec"]["template"]["metadata"]["annotations"] = pod_annotations
    manifests.append(workload)
    return stamp(manifests)
