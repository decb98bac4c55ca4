"""In-memory views fed by watch events: tenants (for their Sinks, ScrapeFlows, Pipelines) and the
availability of the Deployments the operator made. Both wake whoever subscribed when something they
depend on changes, so convergence is event-driven rather than polled."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from barista_core.plans import Feature, Plan
from barista_operator import labels as L
from barista_operator.builders.common import TenantInfo
from barista_operator.conditions import get_condition
from barista_operator.reconcile.status import Availability


class _Subscribers:
    def __init__(self) -> None:
        self._events: dict[Hashable, set[asyncio.Event]] = defaultdict(set)

    def notify(self, key: Hashable) -> None:
        for event in self._events.get(key, ()):
            event.set()

    @contextlib.contextmanager
    def subscribed(self, key: Hashable, event: asyncio.Event) -> Iterator[None]:
        self._events[key].add(event)
        try:
            yield
        finally:
            self._events[key].discard(event)
            if not self._events[key]:
                self._events.pop(key, None)


@dataclass(frozen=True, slots=True)
class TenantView:
    """A tenant as its namespaced resources see it."""

    name: str
    ready: bool
    message: str
    info: TenantInfo | None


def tenant_view(body: Mapping[str, Any]) -> TenantView:
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    name = meta.get("name", "")
    ready_condition = get_condition(status.get("conditions"), "Ready") or {}
    deleting = bool(meta.get("deletionTimestamp"))
    try:
        plan = Plan(spec.get("plan"))
    except ValueError:
        return TenantView(name=name, ready=False, message="its spec is invalid", info=None)
    features = frozenset(Feature(f) for f in status.get("features") or [] if f in Feature._value2member_map_)
    retention = (status.get("effectiveLimits") or {}).get("retentionDays")
    info = TenantInfo(
        name=name,
        plan=plan,
        suspended=bool(spec.get("suspended", False)),
        features=features,
        retention_days=int(retention) if retention else None,
        uid=meta.get("uid"),
    )
    if deleting:
        return TenantView(name=name, ready=False, message="it is being deleted", info=info)
    # Its resources need the tenant provisioned (namespace, registry, storage), not its silo pods running.
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if ready_condition.get("reason") == "InvalidSpec":
        return TenantView(name=name, ready=False, message=ready_condition.get("message", ""), info=info)
    if conditions.get("NamespaceReady", {}).get("status") != "True":
        why = conditions.get("NamespaceReady", {}).get("message") or "it has not been provisioned yet"
        return TenantView(name=name, ready=False, message=why, info=info)
    for type_, c in conditions.items():
        if type_ not in ("Ready", "DeploymentAvailable") and c.get("status") != "True":
            return TenantView(name=name, ready=False, message=f"{type_}: {c.get('message', '')}", info=info)
    return TenantView(name=name, ready=True, message="", info=info)


class TenantDirectory:
    """Tenants by name, as last seen on the watch stream."""

    def __init__(self) -> None:
        self._views: dict[str, TenantView] = {}
        self._subscribers = _Subscribers()

    def observe(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        name = (body.get("metadata") or {}).get("name", "")
        view = None if event_type == "DELETED" else tenant_view(body)
        if self._views.get(name) != view:
            if view is None:
                self._views.pop(name, None)
            else:
                self._views[name] = view
            self._subscribers.notify(name)

    def get(self, name: str) -> TenantView | None:
        return self._views.get(name)

    def subscribed(self, name: str, event: asyncio.Event) -> contextlib.AbstractContextManager[None]:
        return self._subscribers.subscribed(name, event)

    async def wait_ready(self, name: str, timeout: float) -> TenantView | None:
        """The tenant's view once ready, or its latest view when ``timeout`` passes first."""
        event = asyncio.Event()
        with self.subscribed(name, event):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while not ((view := self.get(name)) is not None and view.ready):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
        return self.get(name)


OwnerKey = tuple[str, str | None, str]  # (kind in lower case, namespace or None, name)


def owner_key(kind: str, namespace: str | None, name: str) -> OwnerKey:
    return (kind.lower(), namespace if kind.lower() != "tenant" else None, name)


class WorkloadDirectory:
    """Availability of Barista-made Deployments, and who to wake when it changes."""

    def __init__(self) -> None:
        self._availability: dict[tuple[str, str], Availability] = {}
        self._subscribers = _Subscribers()

    def observe(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        labels = meta.get("labels") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        availability = Availability.missing() if event_type == "DELETED" else Availability.of(body)
        if self._availability.get(key) == availability:
            return
        self._availability[key] = availability
        kind, name = labels.get(L.OWNER_KIND), labels.get(L.OWNER_NAME)
        if kind and name:
            self._subscribers.notify(owner_key(kind, key[0], name))

    def record(self, body: Mapping[str, Any]) -> Availability:
        """Remember what a reconcile just read or wrote (no wake-up: the reconciler knows)."""
        meta = body.get("metadata") or {}
        availability = Availability.of(body)
        self._availability[(meta.get("namespace", ""), meta.get("name", ""))] = availability
        return availability

    def get(self, namespace: str, name: str) -> Availability | None:
        return self._availability.get((namespace, name))

    def forget(self, namespace: str, name: str) -> None:
        self._availability.pop((namespace, name), None)

    def subscribed(self, key: OwnerKey, event: asyncio.Event) -> contextlib.AbstractContextManager[None]:
        return self._subscribers.subscribed(key, event)


Unsubscribe = Callable[[], None]


@dataclass(slots=True)
class Followed:
    """A namespaced resource whose re-checks run under its tenant (see handlers/following.py)."""

    kind: str
    #: The object as last seen, updated in place: a re-check always reads the current spec.
    body: dict[str, Any]
    #: kopf's per-object memo: the lock and bookkeeping its handlers share with its re-check.
    memo: Any


class FollowedDirectory:
    """ScrapeFlows and Pipelines as the watch sees them, by tenant namespace."""

    def __init__(self) -> None:
        self._by_namespace: dict[str, dict[tuple[str, str], Followed]] = defaultdict(dict)
        self._subscribers = _Subscribers()

    def observe(self, kind: str, event_type: str | None, body: Mapping[str, Any], memo: Any) -> None:
        meta = body.get("metadata") or {}
        namespace, key = meta.get("namespace") or "", (kind, meta.get("name", ""))
        objects = self._by_namespace[namespace]
        if event_type == "DELETED":
            if objects.pop(key, None) is not None:
                self._subscribers.notify(namespace)
            if not objects:
                self._by_namespace.pop(namespace, None)
            return
        followed = objects.get(key)
        if followed is None:
            objects[key] = Followed(kind, dict(body), memo)
            self._subscribers.notify(namespace)
        else:
            followed.body.clear()
            followed.body.update(body)

    def in_namespace(self, namespace: str) -> dict[tuple[str, str], Followed]:
        return dict(self._by_namespace.get(namespace, {}))

    def subscribed(self, namespace: str, event: asyncio.Event) -> contextlib.AbstractContextManager[None]:
        """``event`` is set when an object appears in or leaves ``namespace``."""
        return self._subscribers.subscribed(namespace, event)
