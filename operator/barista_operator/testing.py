"""Run the operator against kmock's Kubernetes emulator (tests and benchmarks).

Recipe: declare every resource kopf discovers, point a kubeconfig at the emulator, start kopf, and
create objects only once kopf's watch streams are open (the emulator replays every object as ADDED on
each new watch). kopf runs in its own thread and event loop: its shutdown treats every task created
after its start as its own, which would otherwise include the emulator's connection handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jsonpatch
import kopf
import yaml
from kmock import action as kmock_action

from barista_operator.api import KINDS
from barista_operator.settings import OperatorSettings

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
    "kopf.dev/v1/clusterkopfpeerings": {"kind": "ClusterKopfPeering", "namespaced": False},
}
VERBS = ["get", "list", "watch", "create", "patch", "update", "delete"]
#: Resources the operator watches; objects are created only once all these watches are open.
WATCHED = (*(kind.plural for kind in KINDS), "deployments")


# ---- kmock at scale -------------------------------------------------------------------------------------


_PATCHED = False


def patch_kmock() -> None:
    """Work around six defects of kmock 0.8's emulator (idempotent, process-wide).

    Two make it quadratic in the requests it serves (1,000 no-op objects took 241 s on a machine like ours):

    1. To pick a reaction, ``RawHandler._handle`` asks ``request in payload._source`` for every payload.
       ``View.__contains__`` answers by iterating the view, i.e. by re-filtering the *whole request
       history* from the root, to find the one request it already has. Patched: decide membership for
       this one request structurally (root: by its index; filter: source and criteria; or/and/exclusion
       groups: by their parts); views that depend on history (slices) keep the original scan.
    2. ``KubernetesEmulator.__get_obj`` (fetch, create, patch and delete responses) scans every stored
       object to find one by (resource, namespace, name). Patched: a dict lookup by that key.

    One is a missing feature kopf depends on: objects have no ``metadata.resourceVersion``. kopf's
    finalizer patches carry a JSON-patch ``test`` on it (fails: 500), and kopf tells its own patch's echo
    from stale watch events by it (without it, a stale event re-runs handlers that already succeeded).
    Patched: every stored version gets the next number of a process-wide counter.

    A JSON patch that does not apply (kopf's ``test`` of resourceVersion failing on a stale body) is
    answered 500 with the traceback; the API server answers 422, which kopf reads as "newer changes
    pending: retry on the next event". On a 500, kopf retries the same stale patch with backoff (nine
    attempts, about ten seconds) and holds the object meanwhile. Patched: such patches get 422.

    Likewise ``metadata.generateName`` is ignored, so every nameless object (kopf's Events) is stored
    under the name None and all but the first get 409. Patched: a name is generated on create.

    One breaks Namespaces: ``parsing.parse_path`` reads ``/api/v1/namespaces`` (create, list) as a
    namespace prefix with nothing after it and fails (ValueError, served as a 500), and reads
    ``/api/v1/namespaces/<name>`` (get, patch, delete) as namespace ``<name>`` with no resource. Patched:
    those two shapes (and ``/namespaces/<name>/status|finalize``) address the Namespace resource itself.
    """
    global _PATCHED
    if _PATCHED:
        return
    from kmock._internal import dsl, k8s, k8s_dicts, k8s_views, parsing, rendering

    original_contains = dsl.View.__contains__

    def sees(view: Any, request: Any) -> bool | None:
        """Whether ``view`` would yield ``request``; None when that depends on history."""
        if isinstance(view, dsl.Root):
            requests = view._requests
            return request.id < len(requests) and requests[request.id] is request
        if isinstance(view, dsl.Reaction | dsl.Slicer):
            return None
        if isinstance(view, dsl.Filter):
            inner = sees(view._source, request)
            return inner if inner is None or not inner else bool(view.criteria(request))
        if isinstance(view, dsl.Stream):
            inner = sees(view._source, request)
            return inner if not inner else bool(request._stream_bus.consumer_count)
        if isinstance(view, dsl.Exclusion):
            inner = sees(view._source, request)
            if not inner:
                return inner
            excluded = [sees(e, request) for e in view._exclusions]
            return None if None in excluded else not any(excluded)
        if isinstance(view, dsl.OrGroup | dsl.AndGroup):
            parts = [sees(s, request) for s in view._sources]
            if None in parts:
                return None
            return any(parts) if isinstance(view, dsl.OrGroup) else all(parts)
        if isinstance(view, dsl.Chained):  # Priority and other pass-through views
            return sees(view._source, request)
        return None

    def contains(self: Any, item: Any) -> bool:
        if isinstance(item, rendering.Request):
            answer = sees(self, item)
            if answer is not None:
                return answer
        return original_contains(self, item)

    dsl.View.__contains__ = contains  # type: ignore[method-assign]

    original_get_obj = k8s.KubernetesEmulator._KubernetesEmulator__get_obj  # type: ignore[attr-defined]

    def get_obj(self: Any, request: Any, strict: bool) -> Any:
        if strict and request.name is not None and request.resource is not None:
            return self._objects._objects.get((request.resource, request.namespace, request.name))
        return original_get_obj(self, request, strict)

    k8s.KubernetesEmulator._KubernetesEmulator__get_obj = get_obj  # type: ignore[attr-defined]

    original_parse_path = parsing.parse_path

    def parse_path(path: str) -> Any:
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "v1"] and len(parts) >= 3 and parts[2] == "namespaces":
            rest = parts[3:]
            if len(rest) <= 1 or (len(rest) == 2 and rest[1] in ("status", "finalize")):
                return parsing.ParsedPath(
                    group="",
                    version="v1",
                    plural="namespaces",
                    namespace=None,
                    name=rest[0] if rest else None,
                    subresource=rest[1] if len(rest) == 2 else None,
                )
        return original_parse_path(path)

    parsing.parse_path = parse_path

    versions = itertools.count(1)

    def stamped(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = fn(self, *args, **kwargs)
            obj = (
                self
                if isinstance(self, k8s_dicts.Object)
                else self._objects[k8s_views._parse_resource(args[0][0]), args[0][1], args[0][2]]
            )
            if not obj.deleted and isinstance(obj.last.raw.get("metadata", {}), dict):
                obj.last["metadata"] = {**obj.last.raw.get("metadata", {}), "resourceVersion": str(next(versions))}
            return result

        return wrapper

    k8s_dicts.Object.create = stamped(k8s_dicts.Object.create)  # type: ignore[method-assign]
    k8s_dicts.Object.patch = stamped(k8s_dicts.Object.patch)  # type: ignore[method-assign]
    original_setitem = k8s_views.ObjectsArray.__setitem__

    def setitem(self: Any, key: Any, value: Any) -> None:
        original_setitem(self, key, value)
        if len(key) == 3:
            stamped(lambda *_: None)(self, key)

    k8s_views.ObjectsArray.__setitem__ = setitem  # type: ignore[method-assign]

    original_handle = k8s.KubernetesEmulator._handle

    async def handle(self: Any, request: Any) -> Any:
        data = request.data
        if request.action == kmock_action.CREATE and isinstance(data, dict):
            meta = data.get("metadata")
            if isinstance(meta, dict) and not meta.get("name") and meta.get("generateName"):
                meta["name"] = f"{meta['generateName']}{next(versions):x}"
        try:
            return await original_handle(self, request)
        except jsonpatch.JsonPatchException as exc:  # a failed ``test`` op, or a path that is not there
            raise k8s.KubernetesError(status=422, reason="Invalid", message=f"JSON patch not applied: {exc}") from None

    k8s.KubernetesEmulator._handle = handle  # type: ignore[method-assign]
    _PATCHED = True


# ---- emulator setup ----------------------------------------------------------------------------------------


def declare_resources(kmock: Any) -> None:
    """Make the emulator's discovery serve Kubernetes' core resources and Barista's kinds."""
    for key, info in CORE_RESOURCES.items():
        kmock.resources[key] = kmock.ResourceInfo(
            kind=info["kind"],
            namespaced=info["namespaced"],
            verbs=VERBS,
            subresources=info.get("subresources", []),
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
        r.action == kmock_action.WATCH and r.resource is not None and r.resource.plural == plural
        for r in list(kmock._requests)
    )


def settings_for_tests(**overrides: Any) -> OperatorSettings:
    """Settings for tests: no backends unless given, fast pacing, standalone."""
    values: dict[str, Any] = {
        "disabled_backends": [
            b
            for b, f in (("registry", "postgres_url"), ("clickhouse", "clickhouse_url"), ("broker", "broker_url"))
            if f not in overrides
        ],
        "standalone": True,
        "redis_url": "redis://127.0.0.1:6379/0",
        "tenant_grace_seconds": 0.2,
        "tenant_wait_seconds": 30.0,
        "retry_seconds": 0.5,
        "max_retry_seconds": 5.0,
        "post_events": True,
        **overrides,
    }
    return OperatorSettings(**values)


@contextlib.asynccontextmanager
async def running_operator(
    kmock: Any,
    tmp_path: Path,
    *,
    settings: OperatorSettings | None = None,
    timeout: float = 20.0,
) -> AsyncIterator[kopf.Memo]:
    """Run kopf with Barista's handlers against ``kmock`` until the context exits; yields kopf's memo."""
    patch_kmock()
    declare_resources(kmock)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", str(kmock.url).rstrip("/"))
    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(kubeconfig)
    import barista_operator.handlers  # noqa: F401  (registers the handlers)

    settings = settings or settings_for_tests()
    memo = kopf.Memo(operator_settings=settings)
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(
                kopf.operator(
                    clusterwide=True,
                    standalone=settings.standalone,
                    peering_name=None if settings.standalone else settings.peering_name,
                    priority=settings.priority,
                    stop_flag=stop,
                    memo=memo,
                )
            )
        except BaseException as exc:  # surfaced to the test below
            failure.append(exc)

    thread = threading.Thread(target=run, name="kopf-operator", daemon=True)
    thread.start()
    try:
        async with asyncio.timeout(timeout):
            while not all(watching(kmock, plural) for plural in WATCHED):
                if not thread.is_alive():
                    raise RuntimeError("the operator exited during start-up") from (failure[0] if failure else None)
                await asyncio.sleep(0.05)
        yield memo
    finally:
        stop.set()
        await asyncio.to_thread(functools.partial(thread.join, 20))
        if previous is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = previous
    if failure and not isinstance(failure[0], asyncio.CancelledError):
        raise failure[0]


# ---- a client for tests ----------------------------------------------------------------------------------------


class Api:
    """A minimal HTTP client for tests: talk to the emulator so watchers see the changes."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.session = aiohttp.ClientSession(headers={"User-Agent": "barista-tests"})

    async def close(self) -> None:
        await self.session.close()

    @staticmethod
    def path(resource: str, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
        group_version, plural = resource.rsplit("/", 1)
        prefix = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
        ns = f"/namespaces/{namespace}" if namespace else ""
        return f"{prefix}{ns}/{plural}" + (f"/{name}" if name else "") + (f"/{sub}" if sub else "")

    async def create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        namespace = body.get("metadata", {}).get("namespace")
        async with self.session.post(self.base + self.path(resource, namespace), json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def patch(
        self, resource: str, name: str, patch: dict[str, Any], namespace: str | None = None, sub: str | None = None
    ) -> dict[str, Any]:
        async with self.session.patch(
            self.base + self.path(resource, namespace, name, sub),
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
        ) as response:
            response.raise_for_status()
            return await response.json()

    async def delete(self, resource: str, name: str, namespace: str | None = None) -> None:
        async with self.session.delete(self.base + self.path(resource, namespace, name)) as response:
            response.raise_for_status()
