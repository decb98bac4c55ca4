"""The glue every kind's handlers share: one lock per object, waiting for the tenant, status and Events,
turning outcomes into kopf's temporary/permanent errors, and the re-check daemon."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf

from barista_core.naming import tenant_from_namespace
from barista_operator.api import ResourceKind
from barista_operator.kube import ApiError
from barista_operator.reconcile import FINALIZERS, RECONCILERS
from barista_operator.reconcile.backends import BackendUnavailable
from barista_operator.reconcile.common import Outcome, Transition, plan_status, write_status
from barista_operator.reconcile.directory import TenantView, owner_key
from barista_operator.reconcile.refresh import refresh, workloads_of
from barista_operator.reconcile.runtime import Runtime


@dataclass
class ObjectState:
    """Per-object memory (kept in kopf's per-object memo)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: The status this operator last wrote (the handler's body may be older than our last write).
    written: dict[str, Any] | None = None
    tenant: TenantView | None = None
    workloads: tuple[Any, ...] = ()
    #: Handlers running for this object; ``idle`` is set when none is.
    handling: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()


def runtime(memo: Any) -> Runtime:
    return memo.runtime  # type: ignore[no-any-return]


def state(memo: Any) -> ObjectState:
    current = getattr(memo, "barista_state", None)
    if current is None:
        current = memo.barista_state = ObjectState()
    return current  # type: ignore[no-any-return]


def _tenant_of(kind: ResourceKind, body: Mapping[str, Any]) -> str | None:
    if not kind.namespaced:
        return None
    return tenant_from_namespace((body.get("metadata") or {}).get("namespace") or "")


async def reconcile(
    kind: ResourceKind,
    body: kopf.Body,
    memo: Any,
    logger: logging.Logger | Any,
    *,
    fresh: bool,
    retry: int = 0,
    patch: kopf.Patch | None = None,
) -> Outcome:
    """One reconcile from a handler: wait briefly for the tenant, reconcile, write status, classify errors."""
    st = state(memo)
    st.handling += 1
    st.idle.clear()
    try:
        return await _reconcile(kind, body, memo, logger, fresh=fresh, retry=retry, patch=patch)
    finally:
        st.handling -= 1
        if not st.handling:
            st.idle.set()


async def _reconcile(
    kind: ResourceKind,
    body: kopf.Body,
    memo: Any,
    logger: logging.Logger | Any,
    *,
    fresh: bool,
    retry: int,
    patch: kopf.Patch | None,
) -> Outcome:
    rt, st = runtime(memo), state(memo)
    tenant = _tenant_of(kind, body)
    if tenant is not None:
        view = rt.tenants.get(tenant)
        if view is None or not view.ready:
            view = await rt.tenants.wait_ready(tenant, rt.settings.tenant_grace_seconds)
        if view is None or not view.ready:
            outcome = await _run(kind, body, rt, st, logger, fresh=fresh)  # reports TenantNotReady
            if not outcome.waiting_for_tenant:
                return _raise_for(outcome, rt, retry)
            view = await rt.tenants.wait_ready(tenant, rt.settings.tenant_wait_seconds)
            if view is None or not view.ready:
                raise kopf.TemporaryError(f"waiting for Tenant {tenant} to be ready", delay=rt.backoff(retry))
    outcome = await _run(kind, body, rt, st, logger, fresh=fresh, patch=patch)
    return _raise_for(outcome, rt, retry)


async def _run(
    kind: ResourceKind,
    body: Mapping[str, Any],
    rt: Runtime,
    st: ObjectState,
    logger: Any,
    *,
    fresh: bool,
    outcome: Outcome | None = None,
    patch: kopf.Patch | None = None,
) -> Outcome:
    """Reconcile (unless ``outcome`` is given) and write the status: into kopf's ``patch`` when a handler
    passes it (kopf then writes it with its own bookkeeping in one request), else directly."""
    async with st.lock:
        if outcome is None:
            outcome = await RECONCILERS[kind.kind](rt, body, fresh=fresh)
        changes, transition = plan_status(body, outcome, last_written=st.written)
        if patch is not None:
            for key, value in changes.items():
                patch.status[key] = value
        else:
            try:
                await write_status(rt, kind, body, changes)
            except ApiError as exc:
                raise kopf.TemporaryError(f"could not write status: {exc}", delay=rt.backoff(0)) from exc
        st.written, st.tenant, st.workloads = outcome.status, outcome.tenant, outcome.workloads
    if transition is not None:
        _post(rt, body, transition)
    for note in outcome.notes:
        logger.info(note)
    return outcome


def _raise_for(outcome: Outcome, rt: Runtime, retry: int) -> Outcome:
    ready = outcome.ready_condition
    message = f"{ready.get('reason', '')}: {ready.get('message', '')}"
    if outcome.retry:
        raise kopf.TemporaryError(message, delay=rt.backoff(retry))
    if outcome.permanent:
        raise kopf.PermanentError(message)
    return outcome


def _post(rt: Runtime, body: Mapping[str, Any], transition: Transition) -> None:
    if not rt.settings.post_events:
        return
    kopf.event(
        body,  # type: ignore[arg-type]
        type="Warning" if transition.warning else "Normal",
        reason=transition.phase,
        message=transition.message[:1000] or transition.phase,
    )


async def finalize(kind: ResourceKind, body: kopf.Body, memo: Any, logger: Any, retry: int = 0) -> None:
    """Clean up what lives outside the cluster before the finalizer is released."""
    rt = runtime(memo)
    try:
        for note in await FINALIZERS[kind.kind](rt, body):
            logger.info(note)
    except (BackendUnavailable, ApiError) as exc:
        raise kopf.TemporaryError(f"cleanup failed, will retry: {exc}", delay=rt.backoff(retry)) from exc


async def recheck(kind: ResourceKind, body: kopf.Body, memo: Any, logger: Any, stopped: Any) -> None:
    """Keep one object converged: a full reconcile every ``recheck_seconds`` (drift by others), when its
    tenant changes, or when one of its Deployments disappears; a status refresh when their availability
    changes. Failures back off. Reconciles and handlers never overlap (one lock per object)."""
    rt, st = runtime(memo), state(memo)
    name = body["metadata"]["name"]
    namespace = body["metadata"].get("namespace")
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()
    next_full = loop.time() + rt.settings.recheck_seconds
    failures = 0
    stop = asyncio.ensure_future(_stopped(stopped))
    with contextlib.ExitStack() as stack:
        stack.callback(stop.cancel)
        stack.enter_context(rt.wakes_on_close(wake))
        stack.enter_context(rt.workloads.subscribed(owner_key(kind.kind, namespace, name), wake))
        tenant = _tenant_of(kind, body)
        if tenant is not None:
            stack.enter_context(rt.tenants.subscribed(tenant, wake))
        while not stopped and not rt.closed:
            woke = asyncio.ensure_future(wake.wait())
            done, _ = await asyncio.wait(
                {woke, stop}, timeout=max(0.0, next_full - loop.time()), return_when=asyncio.FIRST_COMPLETED
            )
            woke.cancel()
            woken = woke in done
            wake.clear()
            if stopped or rt.closed or (body.get("metadata") or {}).get("deletionTimestamp"):
                continue
            if woken and st.handling and not failures:
                await st.idle.wait()  # a handler is on it: then only what it did not see is left
                if stopped or rt.closed:
                    continue
            full = not woken or failures > 0 or _tenant_changed(rt, st, tenant)
            try:
                outcome: Outcome | None = None
                if not full:
                    workloads = workloads_of(kind.kind, body, rt.workloads)
                    if workloads == tuple(st.workloads):
                        continue
                    refreshed = refresh(kind.kind, body, workloads, st.tenant, previous=st.written)
                    full = refreshed is None
                    if refreshed is not None:
                        outcome = await _run(kind, body, rt, st, logger, fresh=False, outcome=refreshed)
                if full:
                    outcome = await _run(kind, body, rt, st, logger, fresh=False)
                    next_full = loop.time() + rt.settings.recheck_seconds
                failures = failures + 1 if outcome is not None and outcome.retry else 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the daemon alive; retry with backoff
                if rt.closed:
                    return
                failures += 1
                logger.warning(f"re-check of {kind.kind} {name} failed (attempt {failures}): {exc}")
            if failures:
                next_full = loop.time() + rt.backoff(failures - 1)


async def _stopped(stopped: Any) -> None:
    await stopped.wait()


def _tenant_changed(rt: Runtime, st: ObjectState, tenant: str | None) -> bool:
    return tenant is not None and rt.tenants.get(tenant) != st.tenant
