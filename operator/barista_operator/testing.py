"""Run the operator against kmock's Kubernetes emulator (tests and benchmarks).

Recipe: declare every resource kopf discovers, point a kubeconfig at the emulator, start kopf
in-process, and create objects only once kopf's watch stream is open (the emulator replays every
object as ADDED on each new watch).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import kopf
import yaml
from kmock import action as kmock_action

from barista_operator.api import KINDS

CORE_RESOURCES: dict[str, dict[str, Any]] = {
    "v1/namespaces": {"kind": "Namespace", "namespaced": False},
    "v1/events": {"kind": "Event", "namespaced": True},
    "v1/secrets": {"kind": "Secret", "namespaced": True},
    "v1/configmaps": {"kind": "ConfigMap", "namespaced": True},
    "v1/serviceaccounts": {"kind": "ServiceAccount", "namespaced": True},
    "v1/services": {"kind": "Service", "namespaced": True},
    "v1/resourcequotas": {"kind": "ResourceQuota", "namespaced": True},
    "v1/limitranges": {"kind": "LimitRange", "namespaced": True},
    "apps/v1/deployments": {"kind": "Deployment", "namespaced": True, "subresources": ["status", "scale"]},
    "networking.k8s.io/v1/networkpolicies": {"kind": "NetworkPolicy", "namespaced": True},
    "apiextensions.k8s.io/v1/customresourcedefinitions": {"kind": "CustomResourceDefinition", "namespaced": False},
    "coordination.k8s.io/v1/leases": {"kind": "Lease", "namespaced": True},
}
VERBS = ["get", "list", "watch", "create", "patch", "update", "delete"]


def declare_resources(kmock: Any) -> None:
    """Make the emulator's discovery serve Kubernetes' core resources and Barista's kinds."""
    for key, info in CORE_RESOURCES.items():
        kmock.resources[key] = kmock.ResourceInfo(
            kind=info["kind"], namespaced=info["namespaced"], verbs=VERBS, subresources=info.get("subresources", [])
        )
    for kind in KINDS:
        kmock.resources[kind.resource] = kmock.ResourceInfo(
            kind=kind.kind,
            singular=kind.singular,
            namespaced=kind.namespaced,
            verbs=VERBS,
            shortnames=list(kind.short_names),
            categories=["barista"],
            subresources=["status"],
        )


def write_kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kmock", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "kmock", "user": {"token": "kmock"}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "kmock"}}],
        "current-context": "kmock",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def watching(kmock: Any, plural: str) -> bool:
    """Whether kopf has opened its watch stream on ``plural``."""
    return any(
        r.action == kmock_action.WATCH and r.resource is not None and r.resource.plural == plural for r in list(kmock)
    )


@contextlib.asynccontextmanager
async def running_operator(kmock: Any, tmp_path: Path, *, timeout: float = 20.0) -> AsyncIterator[None]:
    """Run kopf with Barista's handlers against ``kmock`` until the context exits."""
    declare_resources(kmock)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", str(kmock.url).rstrip("/"))
    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(kubeconfig)
    import barista_operator.handlers  # noqa: F401  (registers the handlers)

    stop = asyncio.Event()
    task = asyncio.create_task(kopf.operator(clusterwide=True, standalone=True, stop_flag=stop))
    try:
        async with asyncio.timeout(timeout):
            while not all(watching(kmock, kind.plural) for kind in KINDS):
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 10)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
        if previous is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = previous


class Api:
    """A minimal HTTP client for tests: create objects through the emulator so watchers see them."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.session.close()

    @staticmethod
    def path(resource: str, namespace: str | None = None, name: str | None = None) -> str:
        group_version, plural = resource.rsplit("/", 1)
        prefix = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
        ns = f"/namespaces/{namespace}" if namespace else ""
        return f"{prefix}{ns}/{plural}" + (f"/{name}" if name else "")

    async def create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        namespace = body.get("metadata", {}).get("namespace")
        async with self.session.post(self.base + self.path(resource, namespace), json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def delete(self, resource: str, name: str, namespace: str | None = None) -> None:
        async with self.session.delete(self.base + self.path(resource, namespace, name)) as response:
            response.raise_for_status()
