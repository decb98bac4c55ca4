"""Operator-wide setup: kopf settings, the shared runtime (API client, backends, directories), login."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from barista_operator import kube
from barista_operator.api import GROUP
from barista_operator.reconcile.runtime import Runtime
from barista_operator.settings import OperatorSettings


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    # kopf's bookkeeping lives in status.kopf: the last handled spec, and the handlers' progress (retries,
    # delays). kopf writes both in the same status patch as the handler's status. In annotations, each
    # would cost a patch of the object itself, and a watch event, per change: annotation progress storage
    # with a custom prefix also stamps a "<prefix>/kopf-managed" marker on every object, one more patch.
    settings.persistence.progress_storage = kopf.StatusProgressStorage(name="kopf")
    settings.persistence.diffbase_storage = kopf.StatusDiffBaseStorage(name="kopf")
    # Events are posted explicitly on phase transitions; kopf's own per-handler chatter stays in logs.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.connect_timeout = 10
    # The operator's own settings: injected by tests/benchmarks through the memo, else from the environment.
    operator_settings = getattr(memo, "operator_settings", None) or OperatorSettings.load()
    settings.queueing.worker_limit = operator_settings.worker_limit
    # an idle per-object worker keeps its slot until it exits: with a worker limit, exit soon
    settings.queueing.idle_timeout = 0.5
    settings.persistence.consistency_timeout = operator_settings.consistency_timeout_seconds
    memo.runtime = Runtime.from_settings(operator_settings)


@kopf.on.login()
async def login(memo: kopf.Memo, **_: Any) -> kopf.ConnectionInfo | None:
    """kopf's own kubeconfig/service-account login, shared with the operator's API client."""
    info = kube.login()
    if info is not None:
        memo.runtime.kube.use_credentials(kube.login, info)
    return info


@kopf.on.cleanup()
async def close(memo: kopf.Memo, **_: Any) -> None:
    runtime = getattr(memo, "runtime", None)
    if runtime is not None:
        await runtime.close()
