"""Watch-only handlers feeding the in-memory directories: tenants (for their namespaced resources) and
Barista-made Deployments (availability back to their owners). They never patch what they watch.
Async on purpose: kopf runs sync handlers in a thread pool, a hop per event for a dict update."""

from __future__ import annotations

from typing import Any

import kopf

from barista_operator import labels as L
from barista_operator.api import GROUP, VERSION
from barista_operator.handlers.common import runtime


@kopf.on.event(GROUP, VERSION, "tenants", id="observe-tenant")
async def observe_tenant(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    runtime(memo).tenants.observe(type, body)


@kopf.on.event("apps", "v1", "deployments", id="observe-deployment", labels={L.MANAGED_BY: L.MANAGED_BY_VALUE})
async def observe_deployment(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    runtime(memo).workloads.observe(type, body)
