"""kopf handlers for the four kinds: thin adapters onto the reconcilers.

Per kind: create/update/resume reconcile (a create's first try POSTs first; its retries, which may
follow a partial first try or an operator restart, and the other causes read first) and return
the status through kopf's patch, which kopf writes together with its own bookkeeping; a daemon
re-checks and follows the tenant and the Deployments (for ScrapeFlow and Pipeline, which need no
finalizer, the loop runs under their Tenant's daemon: handlers/following.py), and Tenant and Sink have
finalizers for what lives outside the cluster (registry row and database; queues).
"""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from barista_operator.api import GROUP, KINDS, PIPELINE, SCRAPEFLOW, TENANT, VERSION, ResourceKind
from barista_operator.handlers.common import finalize, recheck, reconcile, runtime
from barista_operator.handlers.following import follow_namespace
from barista_operator.reconcile import FINALIZERS

#: Kinds with nothing outside the cluster to clean up: no finalizer, so no daemon of their own.
FOLLOWED = frozenset({SCRAPEFLOW.kind, PIPELINE.kind})


def _register(kind: ResourceKind) -> None:
    resource = (GROUP, VERSION, kind.plural)

    @kopf.on.create(*resource, id="reconcile")
    async def created(
        body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: kopf.Logger, retry: int, **_: Any
    ) -> None:
        await reconcile(kind, body, memo, logger, fresh=retry == 0, retry=retry, patch=patch)

    @kopf.on.update(*resource, id="reconcile")
    @kopf.on.resume(*resource, id="reconcile")
    async def updated(
        body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: kopf.Logger, retry: int, **_: Any
    ) -> None:
        await reconcile(kind, body, memo, logger, fresh=False, retry=retry, patch=patch)

    if kind.kind in FOLLOWED:
        # no daemon (kopf would give the object a finalizer for it): the tenant's daemon re-checks it

        @kopf.on.event(*resource, id="follow")
        async def observed(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
            runtime(memo).followed.observe(kind.kind, type, body, memo)

    else:

        @kopf.daemon(*resource, id="recheck", cancellation_backoff=2.0, cancellation_timeout=5.0)
        async def rechecked(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, stopped: Any, **_: Any) -> None:
            if kind is TENANT:
                await asyncio.gather(
                    recheck(kind, body, memo, logger, stopped),
                    follow_namespace(body["metadata"]["name"], memo, stopped),
                )
            else:
                await recheck(kind, body, memo, logger, stopped)

    if kind.kind in FINALIZERS:

        @kopf.on.delete(*resource, id="finalize")
        async def deleted(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, retry: int, **_: Any) -> None:
            await finalize(kind, body, memo, logger, retry)


for _kind in KINDS:
    _register(_kind)
