"""The operator's ClusterRole (charts/barista/files/operator-rbac-rules.yaml) is exactly what it uses.

Every kmock test checks its own requests are allowed (autouse fixture in conftest). Here one run through
every code path — peering, creation, drift repair, spec changes with pruning, deletion — must use every
verb the rules grant, so the rules cannot quietly grow.
"""

from __future__ import annotations

from barista_operator.api import GROUP, KINDS, PIPELINE, SCRAPEFLOW, SINK, TENANT
from barista_operator.kube import resource_type
from barista_operator.rbac import Access, access_of, allowed, granted, parse_rules
from barista_operator.reconcile import scrapeflow, tenant
from barista_operator.testing import declare_resources, running_operator, settings_for_tests
from tests.operator.conftest import RULES_FILE, condition, cr, current, eventually, operator_accesses, ready
from tests.operator.test_builders import MANIFESTS

NS = "tenant-rbac"
#: Granted but never a request: blockOwnerDeletion owner references need update on the owner's finalizers
#: where the OwnerReferencesPermissionEnforcement admission plugin runs.
NOT_REQUESTS = {Access("update", "barista.dev", f"{kind.plural}/finalizers") for kind in KINDS}
#: Kinds with a finalizer (something outside the cluster to clean up)
FINALIZED = (TENANT, SINK)


def test_rules_have_no_wildcards_and_the_check_can_fail() -> None:
    rules = parse_rules(RULES_FILE.read_text())
    for rule in rules:
        for field in ("apiGroups", "resources", "verbs"):
            assert rule.get(field) and not any("*" in item for item in rule[field]), rule
    assert allowed(access_of("PATCH", "/apis/barista.dev/v1alpha1/namespaces/x/sinks/s/status", {}), rules)
    assert not allowed(access_of("GET", "/api/v1/pods", {}), rules)
    assert not allowed(access_of("DELETE", "/api/v1/namespaces/x/secrets/y", {}), rules)
    assert not allowed(access_of("GET", "/api/v1/namespaces/x/secrets", {"watch": "true"}), rules)


def test_rules_cover_every_kind_the_builders_make_and_the_operator_serves() -> None:
    """Derived from the code, not from a run: each kind any builder produces (every example and variant
    of test_builders) can be read, created and patched; the kinds pruned can be listed and deleted; the
    four custom resources can be watched and their status patched, Tenants and Sinks patched (finalizer);
    Deployments are watched."""
    rules = parse_rules(RULES_FILE.read_text())
    made = sorted({(m["apiVersion"], m["kind"]) for _, m in MANIFESTS})
    assert len(made) == 9, made  # Namespace, quota, limits, policy, SA, Secret, ConfigMap, Service, Deployment
    needed: set[Access] = set()
    for api_version, kind in made:
        rt = resource_type(api_version, kind)  # the operator's client knows where every built kind lives
        needed |= {Access(verb, rt.group, rt.plural) for verb in ("get", "create", "patch")}
    for rt in (*tenant.PRUNABLE, *scrapeflow.PRUNABLE):
        needed |= {Access(verb, rt.group, rt.plural) for verb in ("list", "delete")}
    needed.add(Access("delete", "", "namespaces"))  # the Tenant's finalizer deletes its namespace
    for rt in (scrapeflow.CONFIG_MAP, scrapeflow.SECRET):  # a ScrapeFlow's references are read
        needed.add(Access("get", rt.group, rt.plural))
    for kind in KINDS:
        needed |= {Access(verb, GROUP, kind.plural) for verb in ("list", "watch")}
        needed.add(Access("patch", GROUP, f"{kind.plural}/status"))
    for kind in FINALIZED:  # kopf patches its finalizer onto the kinds that have one
        needed.add(Access("patch", GROUP, kind.plural))
    needed |= {Access("list", "apps", "deployments"), Access("watch", "apps", "deployments")}
    needed.add(Access("create", "", "events"))
    needed |= {Access(verb, "kopf.dev", "clusterkopfpeerings") for verb in ("list", "watch", "patch")}
    needed |= {Access(verb, "apiextensions.k8s.io", "customresourcedefinitions") for verb in ("list", "watch")}
    assert sorted(str(a) for a in needed if not allowed(a, rules)) == []


async def test_rules_are_exactly_what_the_operator_uses(kmock, api, tmp_path) -> None:
    declare_resources(kmock)
    await api.create(
        "kopf.dev/v1/clusterkopfpeerings",
        {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": "barista"}},
    )
    settings = settings_for_tests(standalone=False, peering_name="barista", recheck_seconds=0.5)
    async with running_operator(kmock, tmp_path, settings=settings):
        await api.create(TENANT.resource, cr("Tenant", "rbac", {"displayName": "R", "plan": "PAID", "tenancy": "silo"}))
        await eventually(lambda: condition(current(kmock, TENANT.resource, None, "rbac"), "DeploymentAvailable"))
        await api.create(SINK.resource, cr("Sink", "s", {"clickhouse": {}}, namespace=NS))
        await api.create(
            SCRAPEFLOW.resource,
            cr("ScrapeFlow", "f", {"source": "youtube.channel", "targets": ["a"], "interval": "1h"}, namespace=NS),
        )
        await api.create(
            PIPELINE.resource,
            cr("Pipeline", "p", {"schedule": "@daily", "steps": [{"name": "s", "score": {}}]}, namespace=NS),
        )
        await eventually(lambda: ready(current(kmock, PIPELINE.resource, NS, "p")))
        await eventually(lambda: current(kmock, "apps/v1/deployments", NS, "flow-f"))
        await eventually(lambda: current(kmock, "apps/v1/deployments", NS, "sink-s"))

        # drift made by others is repaired (patch on each kind of fixed child)
        await api.patch("v1/serviceaccounts", "barista-tenant", {"automountServiceAccountToken": True}, NS)
        await api.patch(
            "networking.k8s.io/v1/networkpolicies",
            "barista-default-deny",
            {"spec": {"podSelector": {"matchLabels": {"x": "y"}}}},
            NS,
        )
        await api.patch("v1/secrets", "barista-backends", {"data": {"redis-url": "eA=="}}, NS)
        await api.patch("v1/services", "barista-gateway", {"spec": {"type": "NodePort"}}, NS)
        await eventually(
            lambda: current(kmock, "v1/serviceaccounts", NS, "barista-tenant")["automountServiceAccountToken"] is False,
            timeout=10,
        )
        await eventually(lambda: current(kmock, "v1/services", NS, "barista-gateway")["spec"]["type"] == "ClusterIP")

        # spec changes: namespace, quota and limits follow the plan; silo workloads are pruned;
        # the flow switches to referenced targets (ConfigMap/Secret reads, its own ConfigMap pruned)
        await api.patch(
            TENANT.resource, "rbac", {"metadata": {"generation": 2}, "spec": {"plan": "SAAS", "tenancy": "pool"}}
        )
        await eventually(lambda: ready(current(kmock, TENANT.resource, None, "rbac"), 2))
        await api.create(
            "v1/configmaps",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t", "namespace": NS}, "data": {"k": "x\n"}},
        )
        await api.create(
            "v1/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c", "namespace": NS}, "data": {}}
        )
        await api.patch(
            SCRAPEFLOW.resource,
            "f",
            {
                "metadata": {"generation": 2},
                "spec": {
                    "targets": None,
                    "targetsFrom": {"configMapKeyRef": {"name": "t", "key": "k"}},
                    "credentialsSecretRef": {"name": "c"},
                },
            },
            NS,
        )
        await api.patch(PIPELINE.resource, "p", {"metadata": {"generation": 2}, "spec": {"schedule": "@hourly"}}, NS)
        await api.patch(SINK.resource, "s", {"metadata": {"generation": 2}, "spec": {"paused": True}}, NS)
        await eventually(lambda: current(kmock, "v1/configmaps", NS, "flow-f-targets") is None)
        await eventually(lambda: ready(current(kmock, PIPELINE.resource, NS, "p"), 2))
        await eventually(lambda: current(kmock, "apps/v1/deployments", NS, "sink-s")["spec"]["replicas"] == 0)

        await api.delete(SINK.resource, "s", NS)
        await api.delete(TENANT.resource, "rbac")
        await eventually(lambda: current(kmock, TENANT.resource, None, "rbac") is None)

    used = operator_accesses(kmock)
    rules = granted(parse_rules(RULES_FILE.read_text()))
    assert sorted(map(str, used - rules)) == [], "requests the ClusterRole does not allow"
    assert sorted(map(str, rules - used - NOT_REQUESTS)) == [], "rules the operator never uses"
