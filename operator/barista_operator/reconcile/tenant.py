"""Reconcile a Tenant: namespace and its objects, registry row + API key, ClickHouse database, silo pods."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from barista_core.naming import tenant_database, tenant_namespace
from barista_core.registry import delete_tenant, upsert_tenant
from barista_operator import labels as L
from barista_operator.api import TENANT, TenantSpec
from barista_operator.builders.common import CREDENTIALS_SECRET
from barista_operator.builders.tenant import (
    GATEWAY,
    SCORING,
    TenantContext,
    TenantCredentials,
    build_tenant,
    tenant_features,
    tenant_limits,
    tenant_record,
)
from barista_operator.kube import Conflict, resource_type
from barista_operator.reconcile.apply import Applied, ChildConflict, apply, prune
from barista_operator.reconcile.common import Outcome, failure_check, invalid, meta, parse_spec
from barista_operator.reconcile.diff import owned_by
from barista_operator.reconcile.runtime import Runtime, backend_urls
from barista_operator.reconcile.status import Availability, Check, build_status, deployment_check

NAMESPACE = resource_type("v1", "Namespace")
SECRET = resource_type("v1", "Secret")
#: Child types whose desired set can shrink (silo → pool): listed and pruned on re-checks.
PRUNABLE = (resource_type("apps/v1", "Deployment"), resource_type("v1", "Service"))
STATUS_KEYS = ("namespace", "credentialsSecret", "effectiveLimits", "features")


class CredentialsInvalid(Exception):
    pass


async def reconcile_tenant(rt: Runtime, body: Mapping[str, Any], *, fresh: bool) -> Outcome:
    name, _, generation = meta(body)
    spec, problems = parse_spec(TENANT, body)
    if spec is None:
        return invalid(body, problems)
    assert isinstance(spec, TenantSpec)
    ns = tenant_namespace(name)
    checks: list[Check] = []
    retry = permanent = False
    credentials: TenantCredentials | None = None
    applied: list[Applied] = []

    try:
        credentials, applied = await provision(rt, spec, body, fresh=fresh)
        checks.append(
            Check(
                "NamespaceReady",
                "True",
                "Provisioned",
                f"namespace {ns} with quota, limit range, network policies, service account and credentials",
            )
        )
    except CredentialsInvalid as exc:
        checks.append(Check("NamespaceReady", "False", "CredentialsInvalid", str(exc)))
        permanent = True
    except Exception as exc:
        check, transient = failure_check("NamespaceReady", exc)
        checks.append(check)
        retry, permanent = retry or transient, permanent or not transient

    if rt.settings.manages("registry"):
        if credentials is None:
            checks.append(Check("RegistryReady", "Unknown", "Blocked", "waiting for the credentials (NamespaceReady)"))
        else:
            record = tenant_record(spec, context(rt, spec, body, credentials))
            try:
                await rt.backends.with_registry(lambda pool: _register(pool, record, credentials))
                checks.append(
                    Check("RegistryReady", "True", "Registered", f"registry row {record.state}, plan {record.plan}")
                )
            except Exception as exc:
                check, transient = failure_check("RegistryReady", exc)
                checks.append(check)
                retry = retry or transient

    if rt.settings.manages("clickhouse"):
        database = tenant_database(name)
        try:
            await rt.backends.clickhouse_command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
            checks.append(Check("StorageReady", "True", "DatabaseReady", f"ClickHouse database {database} exists"))
        except Exception as exc:
            check, transient = failure_check("StorageReady", exc)
            checks.append(check)
            retry = retry or transient

    workloads: tuple[Any, ...] = ()
    if spec.tenancy == "silo":
        if applied:
            found = {
                a.obj["metadata"]["name"]: a.obj
                for a in applied
                if a.obj.get("kind", "Deployment") == "Deployment" and a.obj["metadata"]["name"] in (GATEWAY, SCORING)
            }
            items = [
                (n, rt.workloads.record(found[n]) if n in found else Availability.missing()) for n in (GATEWAY, SCORING)
            ]
            workloads = tuple(items)
            checks.append(deployment_check(items, "gateway and scoring pods"))
        else:
            checks.append(Check("DeploymentAvailable", "Unknown", "Blocked", "waiting for NamespaceReady"))

    ok = all(c.ok for c in checks)
    if permanent:
        phase = "Failed"
    elif ok:
        phase = "Suspended" if spec.suspended else "Ready"
    else:
        phase = "Provisioning"
    limits = tenant_limits(spec)
    status = build_status(
        previous=body.get("status"),
        generation=generation,
        checks=checks,
        phase=phase,
        ready_message=f"tenant {name} is provisioned" + (" and suspended" if spec.suspended else ""),
        extra={
            "namespace": ns,
            "credentialsSecret": CREDENTIALS_SECRET,
            "effectiveLimits": limits.to_camel(),
            "features": sorted(f.value for f in tenant_features(spec)),
        },
    )
    return Outcome(status=status, retry=retry, permanent=permanent and not retry, workloads=workloads)


def context(rt: Runtime, spec: TenantSpec, body: Mapping[str, Any], credentials: TenantCredentials) -> TenantContext:
    metadata = body.get("metadata") or {}
    return TenantContext(
        name=metadata["name"],
        uid=metadata.get("uid"),
        platform=rt.platform,
        credentials=credentials,
        backend_urls=backend_urls(rt.settings),
        generation=metadata.get("generation"),
    )


async def provision(
    rt: Runtime, spec: TenantSpec, body: Mapping[str, Any], *, fresh: bool
) -> tuple[TenantCredentials, list[Applied]]:
    """Namespace first, then the credentials (reused if the Secret exists), then everything else."""
    kube = rt.kube
    candidate = TenantCredentials.generate()
    desired = build_tenant(spec, context(rt, spec, body, candidate))
    namespace = await apply(kube, desired[0], create_first=fresh)

    def is_credentials(d: Mapping[str, Any]) -> bool:
        return d["kind"] == "Secret" and d["metadata"]["name"] == CREDENTIALS_SECRET

    secret = next(d for d in desired if is_credentials(d))
    ns = secret["metadata"]["namespace"]
    created: dict[str, Any] | None = None
    live = None if fresh else await kube.get(SECRET, ns, CREDENTIALS_SECRET)
    if fresh or live is None:
        try:
            created = await kube.create(secret)
        except Conflict:
            live = await kube.get(SECRET, ns, CREDENTIALS_SECRET)
    if created is not None:
        credentials = candidate
    else:
        existing = TenantCredentials.from_secret(live or {})
        if existing is None:
            raise CredentialsInvalid(
                f"Secret {ns}/{CREDENTIALS_SECRET} holds no valid API key and token-signing key; the operator "
                "never overwrites credentials: delete the Secret to have new ones generated"
            )
        credentials = existing
        desired = build_tenant(spec, context(rt, spec, body, credentials))
    rest = [d for d in desired[1:] if not (created is not None and is_credentials(d))]
    applied = await _apply_rest(rt, rest, fresh=fresh, live_credentials=live if created is None else None)
    if not fresh:
        await prune(
            kube,
            types=PRUNABLE,
            namespace=ns,
            owner_kind="Tenant",
            owner_name=desired[0]["metadata"]["labels"][L.OWNER_NAME],
            desired=desired,
        )
    return credentials, [namespace, *applied]


async def _apply_rest(
    rt: Runtime, desired: list[dict[str, Any]], *, fresh: bool, live_credentials: dict[str, Any] | None
) -> list[Applied]:
    async def one(d: dict[str, Any]) -> Applied:
        if d["kind"] == "Secret" and d["metadata"]["name"] == CREDENTIALS_SECRET:
            if live_credentials is not None and not owned_by(live_credentials, d):
                raise ChildConflict(f"Secret {d['metadata']['namespace']}/{CREDENTIALS_SECRET} was not made by Barista")
            return await apply(rt.kube, d, create_first=fresh, create_only=("data",), live=live_credentials)
        return await apply(rt.kube, d, create_first=fresh)

    return list(await asyncio.gather(*(one(d) for d in desired)))


async def _register(pool: Any, record: Any, credentials: TenantCredentials) -> None:
    await upsert_tenant(pool, record, api_key=credentials.api_key, key_label="operator")


async def finalize_tenant(rt: Runtime, body: Mapping[str, Any]) -> list[str]:
    """Clean up what lives outside the cluster (and the namespace); returns what was done."""
    name, _, _ = meta(body)
    policy = (body.get("spec") or {}).get("deletionPolicy", "Retain")
    done: list[str] = []
    if rt.settings.manages("registry"):
        removed = await rt.backends.with_registry(lambda pool: delete_tenant(pool, name))
        done.append("registry row deleted" if removed else "no registry row")
    database = tenant_database(name)
    if policy == "Delete" and rt.settings.manages("clickhouse"):
        await rt.backends.clickhouse_command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
        done.append(f"ClickHouse database {database} dropped")
    elif rt.settings.manages("clickhouse"):
        done.append(f"ClickHouse database {database} retained (deletionPolicy Retain)")
    ns = tenant_namespace(name)
    live = await rt.kube.get(NAMESPACE, None, ns)
    if live is not None and owned_by(live, {"metadata": {"labels": L.owner_selector("Tenant", name)}}):
        await rt.kube.delete(NAMESPACE, None, ns)
        done.append(f"namespace {ns} deleted")
    return done
