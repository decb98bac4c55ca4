"""Tenant against kmock's emulator, with the registry in the machine's PostgreSQL and databases in chdb."""

from __future__ import annotations

import base64

import pytest

from barista_core.backends import open_postgres
from barista_core.plans import plan_spec
from barista_core.registry import find_api_key, get_tenant
from barista_operator.api import PIPELINE, SCRAPEFLOW, SINK, TENANT
from barista_operator.testing import running_operator, settings_for_tests
from tests.operator.conftest import condition, cr, current, eventually, operator_requests, ready

pytestmark = pytest.mark.services

NS = "v1/namespaces"
QUOTA = "v1/resourcequotas"
SECRETS = "v1/secrets"
DEPLOYMENTS = "apps/v1/deployments"
SERVICES = "v1/services"


INITECH = "tenant-initech"
WAITING = [
    (SINK.resource, "Sink", {"clickhouse": {}}),
    (SCRAPEFLOW.resource, "ScrapeFlow", {"source": "youtube.channel", "targets": ["a"], "interval": "1h"}),
    (PIPELINE.resource, "Pipeline", {"schedule": "@daily", "steps": [{"name": "s", "score": {}}]}),
]
CHILDREN_OF_WAITING = [
    (DEPLOYMENTS, INITECH, "sink-w"),
    (DEPLOYMENTS, INITECH, "flow-w"),
    ("v1/configmaps", INITECH, "flow-w-targets"),
    ("v1/configmaps", INITECH, "pipeline-w"),
]


def tenant(kmock, name):
    return current(kmock, TENANT.resource, None, name)


def api_key_of(kmock, name):
    secret = current(kmock, SECRETS, f"tenant-{name}", "barista-credentials")
    return base64.b64decode(secret["data"]["api-key"]).decode() if secret else None


async def test_tenant_lifecycle_with_registry_and_database(kmock, api, tmp_path, pg_url, chdb_url, clickhouse):
    settings = settings_for_tests(postgres_url=pg_url, clickhouse_url=chdb_url, recheck_seconds=1.0)
    pool = await open_postgres(pg_url)
    try:
        async with running_operator(kmock, tmp_path, settings=settings):
            await api.create(
                TENANT.resource,
                cr(
                    "Tenant",
                    "acme",
                    {
                        "displayName": "Acme",
                        "plan": "SAAS",
                        "deletionPolicy": "Delete",
                        "limits": {"apiRequestsPerMinute": 3000, "eventsPerSecond": 99999},
                    },
                ),
            )
            await api.create(TENANT.resource, cr("Tenant", "keepme", {"displayName": "Keep", "plan": "FREE"}))
            acme = await eventually(lambda: ready(tenant(kmock, "acme"), 1) and tenant(kmock, "acme"))
            await eventually(lambda: ready(tenant(kmock, "keepme"), 1))

            # status: phase, conditions per dependency, effective limits capped at the plan (SAAS)
            status = acme["status"]
            assert status["phase"] == "Ready" and status["namespace"] == "tenant-acme"
            assert {c["type"] for c in status["conditions"]} == {
                "Ready",
                "NamespaceReady",
                "RegistryReady",
                "StorageReady",
            }
            assert all(c["observedGeneration"] == 1 for c in status["conditions"])
            assert status["effectiveLimits"]["apiRequestsPerMinute"] == 3000
            assert status["effectiveLimits"]["eventsPerSecond"] == plan_spec("SAAS").limits.events_per_second
            assert status["features"] == ["discovery", "leaderboards", "webhooks"]

            # children: labelled, owned, quota from the plan catalogue
            namespace = current(kmock, NS, None, "tenant-acme")
            assert namespace["metadata"]["labels"]["barista.dev/tenant"] == "acme"
            assert namespace["metadata"]["ownerReferences"][0]["uid"] == "uid-tenant-acme"
            quota = current(kmock, QUOTA, "tenant-acme", "barista-quota")
            assert quota["spec"]["hard"]["requests.cpu"] == plan_spec("SAAS").quota.requests_cpu
            for kind, name in [
                ("v1/limitranges", "barista-limits"),
                ("v1/serviceaccounts", "barista-tenant"),
                ("networking.k8s.io/v1/networkpolicies", "barista-default-deny"),
                ("networking.k8s.io/v1/networkpolicies", "barista-allow-platform"),
                (SECRETS, "barista-backends"),
            ]:
                assert current(kmock, kind, "tenant-acme", name) is not None, (kind, name)

            # registry row and API key: the key in the Secret verifies against the stored hash
            record = await get_tenant(pool, "acme")
            assert record is not None and record.plan == "SAAS" and record.state == "active"
            assert record.limits.api_requests_per_minute == 3000 and record.generation == 1
            token = api_key_of(kmock, "acme")
            key_id = token.split("_")[1]
            stored = await find_api_key(pool, key_id)
            assert stored is not None and stored.tenant == "acme" and not stored.revoked
            from barista_core.auth.apikeys import parse_api_key, secret_matches

            assert secret_matches(parse_api_key(token).secret, stored.secret_hash)
            assert clickhouse.command("EXISTS DATABASE tenant_acme") == 1

            # spec change: children and registry follow, status reports the new generation
            await api.patch(
                TENANT.resource, "acme", {"metadata": {"generation": 2}, "spec": {"plan": "PAID", "suspended": True}}
            )
            await eventually(lambda: ready(tenant(kmock, "acme"), 2))
            assert tenant(kmock, "acme")["status"]["phase"] == "Suspended"
            quota = current(kmock, QUOTA, "tenant-acme", "barista-quota")
            assert quota["spec"]["hard"]["requests.cpu"] == plan_spec("PAID").quota.requests_cpu
            record = await get_tenant(pool, "acme")
            assert record.plan == "PAID" and record.state == "suspended" and record.generation == 2
            assert api_key_of(kmock, "acme") == token, "credentials must never be rotated by a spec change"

            # a child deleted by hand comes back (periodic re-check), with the same credentials
            await api.delete(QUOTA, "barista-quota", "tenant-acme")
            await api.delete(SECRETS, "barista-backends", "tenant-acme")
            await eventually(lambda: current(kmock, QUOTA, "tenant-acme", "barista-quota"), timeout=10)
            await eventually(lambda: current(kmock, SECRETS, "tenant-acme", "barista-backends"), timeout=10)
            assert api_key_of(kmock, "acme") == token

            # delete: the finalizer removes the registry row (keys cascade) and, with Delete, the database
            await api.delete(TENANT.resource, "acme")
            await api.delete(TENANT.resource, "keepme")
            await eventually(lambda: tenant(kmock, "acme") is None and tenant(kmock, "keepme") is None)
            assert current(kmock, NS, None, "tenant-acme") is None
        assert await get_tenant(pool, "acme") is None and await find_api_key(pool, key_id) is None
        assert await get_tenant(pool, "keepme") is None
        assert clickhouse.command("EXISTS DATABASE tenant_acme") == 0
        assert clickhouse.command("EXISTS DATABASE tenant_keepme") == 1, "deletionPolicy Retain keeps the data"
        clickhouse.command("DROP DATABASE tenant_keepme SYNC")
    finally:
        await pool.close()


async def test_silo_tenant_runs_gateway_and_scoring_until_switched_to_pool(kmock, api, tmp_path):
    async with running_operator(kmock, tmp_path):
        await api.create(
            TENANT.resource, cr("Tenant", "globex", {"displayName": "Globex", "plan": "PAID", "tenancy": "silo"})
        )
        await eventually(lambda: condition(tenant(kmock, "globex"), "DeploymentAvailable"))
        obj = tenant(kmock, "globex")
        assert obj["status"]["phase"] == "Provisioning"
        assert condition(obj, "DeploymentAvailable")["reason"] == "WaitingForPods"
        assert condition(obj, "Ready")["status"] == "False"
        for name in ("barista-gateway", "barista-scoring"):
            deployment = current(kmock, DEPLOYMENTS, "tenant-globex", name)
            assert current(kmock, SERVICES, "tenant-globex", name) is not None
            env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
            if name == "barista-gateway":
                assert env["BARISTA_TENANT"]["value"] == "globex"
                assert env["BARISTA_JWT_SIGNING_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "barista-credentials"
            # the emulator has no deployment controller: play its part
            replicas = deployment["spec"]["replicas"]
            await api.patch(
                DEPLOYMENTS,
                name,
                {"status": {"replicas": replicas, "availableReplicas": replicas, "readyReplicas": replicas}},
                "tenant-globex",
                "status",
            )
        await eventually(lambda: ready(tenant(kmock, "globex"), 1))
        assert (
            condition(tenant(kmock, "globex"), "DeploymentAvailable")["message"]
            == "3/3 gateway and scoring pods available"
        )

        await api.patch(TENANT.resource, "globex", {"metadata": {"generation": 2}, "spec": {"tenancy": "pool"}})
        await eventually(lambda: ready(tenant(kmock, "globex"), 2))
        assert not condition(tenant(kmock, "globex"), "DeploymentAvailable")
        for name in ("barista-gateway", "barista-scoring"):
            assert current(kmock, DEPLOYMENTS, "tenant-globex", name) is None
            assert current(kmock, SERVICES, "tenant-globex", name) is None


async def test_operator_restart_mid_way_converges_and_keeps_credentials(kmock, api, tmp_path, pg_url):
    # first run: the registry is unreachable, so the tenant stops half-way (namespace and credentials made)
    unreachable = "postgresql://postgres@127.0.0.1:9/none"
    settings = settings_for_tests(postgres_url=unreachable, backend_timeout_seconds=0.5, max_retry_seconds=1.0)
    async with running_operator(kmock, tmp_path, settings=settings):
        await api.create(TENANT.resource, cr("Tenant", "initech", {"displayName": "Initech", "plan": "SAAS"}))
        obj = await eventually(
            lambda: condition(tenant(kmock, "initech"), "RegistryReady") and tenant(kmock, "initech")
        )
        assert condition(obj, "RegistryReady")["status"] == "False"
        assert condition(obj, "RegistryReady")["reason"] == "BackendUnavailable"
        assert condition(obj, "Ready")["reason"] == "BackendUnavailable"
        assert condition(obj, "NamespaceReady")["status"] == "True"
        assert obj["status"]["phase"] == "Provisioning"
        assert "***" in condition(obj, "RegistryReady")["message"] or "9" in condition(obj, "RegistryReady")["message"]

        # the tenant's other resources wait for it, saying so, and make nothing meanwhile
        for resource, kind, spec in WAITING:
            await api.create(resource, cr(kind, "w", spec, namespace=INITECH))
        for resource, _, _ in WAITING:
            await eventually(lambda r=resource: condition(current(kmock, r, INITECH, "w"), "TenantReady"))
            waiting = current(kmock, resource, INITECH, "w")
            assert condition(waiting, "TenantReady")["status"] == "False"
            assert condition(waiting, "TenantReady")["reason"] == "TenantNotReady"
            assert "RegistryReady" in condition(waiting, "TenantReady")["message"]
            assert condition(waiting, "Ready") | {"lastTransitionTime": None, "message": None} == {
                "type": "Ready", "status": "False", "reason": "TenantNotReady", "observedGeneration": 1,
                "lastTransitionTime": None, "message": None,
            }  # fmt: skip
            assert waiting["status"]["phase"] == "Pending"
        for resource, namespace, name in CHILDREN_OF_WAITING:
            assert current(kmock, resource, namespace, name) is None, name
    token = api_key_of(kmock, "initech")
    assert token is not None

    # second run: the registry is back; the operator resumes and converges with the same key
    async with running_operator(kmock, tmp_path, settings=settings_for_tests(postgres_url=pg_url)):
        await eventually(lambda: ready(tenant(kmock, "initech"), 1))
        await eventually(lambda: ready(current(kmock, PIPELINE.resource, INITECH, "w"), 1))
        for name in ("sink-w", "flow-w"):
            deployment = await eventually(lambda n=name: current(kmock, DEPLOYMENTS, INITECH, n))
            replicas = deployment["spec"]["replicas"]
            status = {"replicas": replicas, "availableReplicas": replicas, "readyReplicas": replicas}
            await api.patch(DEPLOYMENTS, name, {"status": status}, INITECH, "status")
        await eventually(lambda: ready(current(kmock, SINK.resource, INITECH, "w"), 1))
        await eventually(lambda: ready(current(kmock, SCRAPEFLOW.resource, INITECH, "w"), 1))
        for resource, namespace, name in CHILDREN_OF_WAITING:
            assert current(kmock, resource, namespace, name) is not None, name
    assert api_key_of(kmock, "initech") == token
    pool = await open_postgres(pg_url)
    try:
        stored = await find_api_key(pool, token.split("_")[1])
        assert stored is not None and stored.tenant == "initech"
    finally:
        await pool.close()
    # only the creation handler's first try POSTs; its retries, before and after the restart, read first
    creates = [
        r for r in operator_requests(kmock) if str(r.method) == "method.POST" and r.url.path == "/api/v1/namespaces"
    ]
    assert len(creates) == 1


async def test_existing_credentials_are_reused_and_broken_ones_never_overwritten(kmock, api, tmp_path):
    async with running_operator(kmock, tmp_path):
        await api.create(TENANT.resource, cr("Tenant", "hooli", {"displayName": "Hooli", "plan": "FREE"}))
        await eventually(lambda: ready(tenant(kmock, "hooli"), 1))
        token = api_key_of(kmock, "hooli")
        # someone garbles the Secret: the operator reports it and leaves the Secret alone
        await api.patch(
            SECRETS, "barista-credentials", {"data": {"api-key": base64.b64encode(b"nope").decode()}}, "tenant-hooli"
        )
        await api.patch(TENANT.resource, "hooli", {"metadata": {"generation": 2}, "spec": {"displayName": "Hooli XYZ"}})
        obj = await eventually(lambda: (t := tenant(kmock, "hooli"))["status"].get("observedGeneration") == 2 and t)
        assert condition(obj, "NamespaceReady")["reason"] == "CredentialsInvalid"
        assert obj["status"]["phase"] == "Failed"
        assert api_key_of(kmock, "hooli") == "nope"
        assert token != "nope"
