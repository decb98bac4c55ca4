"""kopf handlers for the four kinds: thin adapters onto the reconcilers.

Per kind: create/update/resume reconcile (create tries POST first, the others read first) and return
the status through kopf's patch, which kopf writes together with its own bookkeeping; a daemon
re-checks and follows the tenant and the Deployments, and Tenant and Sink have finalizers for what
lives outside the cluster (registry row and database; queues).
"""

from __future__ import annotations

from typing import Any

import kopf

from barista_operator.api import GROUP, KINDS, VERSION, ResourceKind
from barista_operator.handlers.common import finalize, recheck, reconcile
from barista_operator.reconcile import FINALIZERS


def _register(kind: ResourceKind) -> None:
    resource = (GROUP, VERSION, kind.plural)

    @kopf.on.create(*resource, id="reconcile")
    async def created(
        body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: kopf.Logger, retry: int, **_: Any
    ) -> None:
        await reconcile(kind, body, memo, logger, fresh=True, retry=retry, patch=patch)

    @kopf.on.update(*resource, id="reconcile")
    @kopf.on.resume(*resource, id="reconcile")
    async def updated(
        body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: kopf.Logger, retry: int, **_: Any
    ) -> None:
        await reconcile(kind, body, memo, logger, fresh=False, retry=retry, patch=patch)

    @kopf.daemon(*resource, id="recheck", cancellation_backoff=2.0, cancellation_timeout=5.0)
    async def rechecked(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, stopped: Any, **_: Any) -> None:
        await recheck(kind, body, memo, logger, stopped)

    if kind.kind in FINALIZERS:

        @kopf.on.delete(*resource, id="finalize")
        async def deleted(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, retry: int, **_: Any) -> None:
            await finalize(kind, body, memo, logger, retry)


for _kind in KINDS:
    _register(_kind)
