"""ScrapeFlow and Pipeline against kmock's emulator; invalid specs of every kind."""

from __future__ import annotations

import asyncio
import hashlib
import json

from barista_operator.api import PIPELINE, SCRAPEFLOW, SINK, TENANT
from barista_operator.testing import running_operator, settings_for_tests
from tests.operator.conftest import condition, cr, current, eventually, operator_requests, ready

NS = "tenant-acme"
CONFIG_MAPS = "v1/configmaps"
DEPLOYMENTS = "apps/v1/deployments"
ACME = cr("Tenant", "acme", {"displayName": "Acme", "plan": "SAAS"})


def flow(kmock, name="creators"):
    return current(kmock, SCRAPEFLOW.resource, NS, name)


def pipeline(kmock, name="leaderboards"):
    return current(kmock, PIPELINE.resource, NS, name)


async def test_scrapeflow_follows_its_targets_and_references(kmock, api, tmp_path):
    settings = settings_for_tests(retry_seconds=0.2, max_retry_seconds=0.5, recheck_seconds=1.0)
    async with running_operator(kmock, tmp_path, settings=settings):
        await api.create(TENANT.resource, ACME)
        await api.create(
            SCRAPEFLOW.resource,
            cr(
                "ScrapeFlow",
                "creators",
                {
                    "source": "instagram.profile",
                    "targets": ["natgeo", "nasa"],
                    "interval": "6h",
                    "rateLimit": {"requests": 200, "period": "1m"},
                    "workers": 2,
                },
                namespace=NS,
            ),
        )
        obj = await eventually(lambda: condition(flow(kmock), "DeploymentAvailable") and flow(kmock))
        assert obj["status"]["targetCount"] == 2 and obj["status"]["phase"] == "Provisioning"
        targets = current(kmock, CONFIG_MAPS, NS, "flow-creators-targets")
        assert targets["data"]["targets.txt"] == "natgeo\nnasa\n"
        worker = current(kmock, DEPLOYMENTS, NS, "flow-creators")
        env = {e["name"]: e.get("value") for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["BARISTA_INTERVAL_SECONDS"] == "21600" and env["BARISTA_RATE_LIMIT_REQUESTS"] == "200"
        await api.patch(
            DEPLOYMENTS, "flow-creators", {"status": {"availableReplicas": 2, "readyReplicas": 2}}, NS, "status"
        )
        await eventually(lambda: ready(flow(kmock), 1))  # the availability reached it: re-checks run
        assert not flow(kmock)["metadata"].get("finalizers")  # nothing outside the cluster to clean up

        # children deleted by hand come back: the worker at once (its Deployment is watched), the targets
        # ConfigMap at the next re-check; the flow reports the lost pods meanwhile
        await api.delete(DEPLOYMENTS, "flow-creators", NS)
        await api.delete(CONFIG_MAPS, "flow-creators-targets", NS)
        back = await eventually(lambda: current(kmock, DEPLOYMENTS, NS, "flow-creators"))
        assert back["spec"] == worker["spec"]
        restored = await eventually(lambda: current(kmock, CONFIG_MAPS, NS, "flow-creators-targets"), timeout=10)
        assert restored["data"] == targets["data"]
        obj = await eventually(lambda: (f := flow(kmock))["status"]["phase"] == "Degraded" and f)
        assert condition(obj, "Ready")["reason"] == "WaitingForPods"
        await asyncio.sleep(1.5)  # a full re-check (every second here) keeps it Degraded, not Provisioning
        assert flow(kmock)["status"]["phase"] == "Degraded"
        await api.patch(
            DEPLOYMENTS, "flow-creators", {"status": {"availableReplicas": 2, "readyReplicas": 2}}, NS, "status"
        )
        await eventually(lambda: ready(flow(kmock), 1))

        # switch to targets from a ConfigMap that does not exist yet: nothing is made until it does
        await api.patch(
            SCRAPEFLOW.resource,
            "creators",
            {
                "metadata": {"generation": 2},
                "spec": {
                    "targets": None,
                    "targetsFrom": {"configMapKeyRef": {"name": "handles", "key": "list"}},
                    "credentialsSecretRef": {"name": "ig-token"},
                },
            },
            NS,
        )
        obj = await eventually(lambda: (f := flow(kmock))["status"].get("observedGeneration") == 2 and f)
        assert condition(obj, "ReferencesResolved")["reason"] == "ReferenceNotFound"
        assert "ConfigMap handles" in condition(obj, "ReferencesResolved")["message"]
        assert "Secret ig-token" in condition(obj, "ReferencesResolved")["message"]
        assert condition(obj, "Ready")["status"] == "False"
        await api.create(
            CONFIG_MAPS,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "handles", "namespace": NS},
                "data": {"list": "a\nb\n\nc\n"},
            },
        )
        await api.create(
            "v1/secrets",
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ig-token", "namespace": NS}, "data": {}},
        )
        obj = await eventually(
            lambda: condition(flow(kmock), "ReferencesResolved").get("status") == "True" and flow(kmock)
        )
        assert obj["status"]["targetCount"] == 3
        volumes = current(kmock, DEPLOYMENTS, NS, "flow-creators")["spec"]["template"]["spec"]["volumes"]
        assert {
            "name": "targets",
            "configMap": {"name": "handles", "items": [{"key": "list", "path": "targets.txt"}]},
        } in volumes
        assert current(kmock, CONFIG_MAPS, NS, "flow-creators-targets") is None, "inline targets ConfigMap pruned"


async def test_pipeline_publishes_its_dag_spec_and_keeps_it(kmock, api, tmp_path):
    async with running_operator(kmock, tmp_path, settings=settings_for_tests(recheck_seconds=1.0)):
        await api.create(TENANT.resource, ACME)
        await api.create(
            PIPELINE.resource,
            cr(
                "Pipeline",
                "leaderboards",
                {
                    "schedule": "0 * * * *",
                    "steps": [
                        {"name": "models", "dbt": {"select": ["tag:leaderboard"]}},
                        {"name": "score", "after": ["models"], "score": {}},
                        {
                            "name": "publish",
                            "after": ["score"],
                            "sync": {"source": "mart", "target": "boards", "key": ["id"]},
                        },
                    ],
                },
                namespace=NS,
            ),
        )
        obj = await eventually(lambda: ready(pipeline(kmock), 1) and pipeline(kmock))
        assert obj["status"] | {"conditions": None, "kopf": None} == {
            "phase": "Ready",
            "observedGeneration": 1,
            "dagId": "acme__leaderboards",
            "configMap": "pipeline-leaderboards",
            "stepCount": 3,
            "conditions": None,
            "kopf": None,
        }
        # nothing outside the cluster to clean up: no finalizer (kopf would add one for a daemon)
        assert not obj["metadata"].get("finalizers")
        config_map = current(kmock, CONFIG_MAPS, NS, "pipeline-leaderboards")
        assert config_map["metadata"]["labels"]["barista.dev/dag-spec"] == "true"
        text = config_map["data"]["dag-spec.json"]
        digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        assert config_map["metadata"]["annotations"]["barista.dev/content-hash"] == digest
        spec = json.loads(text)
        assert spec["dagId"] == "acme__leaderboards" and spec["schedule"] == "0 * * * *" and not spec["paused"]
        assert [(s["name"], s["type"], s["after"]) for s in spec["steps"]] == [
            ("models", "dbt", []),
            ("score", "score", ["models"]),
            ("publish", "sync", ["score"]),
        ]

        await api.patch(
            PIPELINE.resource,
            "leaderboards",
            {"metadata": {"generation": 2}, "spec": {"schedule": "@daily", "retries": 5}},
            NS,
        )
        await eventually(lambda: ready(pipeline(kmock), 2))
        changed = current(kmock, CONFIG_MAPS, NS, "pipeline-leaderboards")
        assert json.loads(changed["data"]["dag-spec.json"])["schedule"] == "@daily"
        assert changed["metadata"]["annotations"]["barista.dev/content-hash"] != digest

        # deleted by hand: back at the next re-check; tenant suspended: the DAG is paused
        await api.delete(CONFIG_MAPS, "pipeline-leaderboards", NS)
        await eventually(lambda: current(kmock, CONFIG_MAPS, NS, "pipeline-leaderboards"), timeout=10)
        await api.patch(TENANT.resource, "acme", {"metadata": {"generation": 2}, "spec": {"suspended": True}})
        await eventually(lambda: pipeline(kmock)["status"]["phase"] == "Suspended")
        spec = json.loads(current(kmock, CONFIG_MAPS, NS, "pipeline-leaderboards")["data"]["dag-spec.json"])
        assert spec["paused"] is True

        # deleted: gone at once (no finalizer), and its re-check loop ends: the ConfigMap, removed as the
        # garbage collector would, is not made again at the next re-checks
        await api.delete(PIPELINE.resource, "leaderboards", NS)
        await eventually(lambda: current(kmock, PIPELINE.resource, NS, "leaderboards") is None)
        await api.delete(CONFIG_MAPS, "pipeline-leaderboards", NS)
        await asyncio.sleep(2.5)  # > two re-check intervals
        assert current(kmock, CONFIG_MAPS, NS, "pipeline-leaderboards") is None


async def test_invalid_specs_get_a_false_ready_condition_and_nothing_is_made(kmock, api, tmp_path):
    async with running_operator(kmock, tmp_path):
        await api.create(TENANT.resource, ACME)
        await eventually(lambda: ready(current(kmock, TENANT.resource, None, "acme")))
        made_before = {(r.url.path) for r in operator_requests(kmock) if str(r.method) == "method.POST"}
        await api.create(
            TENANT.resource, cr("Tenant", "cheap", {"displayName": "Cheap", "plan": "FREE", "tenancy": "silo"})
        )
        await api.create(
            SINK.resource,
            cr(
                "Sink",
                "both",
                {
                    "clickhouse": {},
                    "webhook": {"url": "https://x.example", "secretRef": {"name": "s", "key": "k"}},
                },
                namespace=NS,
            ),
        )
        await api.create(
            SCRAPEFLOW.resource,
            cr("ScrapeFlow", "nothing", {"source": "instagram.profile", "interval": "30s"}, namespace=NS),
        )
        await api.create(
            PIPELINE.resource,
            cr(
                "Pipeline",
                "loop",
                {
                    "schedule": "@daily",
                    "steps": [{"name": "a", "after": ["b"], "score": {}}, {"name": "b", "after": ["a"], "score": {}}],
                },
                namespace=NS,
            ),
        )

        def failed(resource, namespace, name):
            obj = current(kmock, resource, namespace, name)
            return obj if (obj or {}).get("status", {}).get("phase") == "Failed" else None

        tenant = await eventually(lambda: failed(TENANT.resource, None, "cheap"))
        sink = await eventually(lambda: failed(SINK.resource, NS, "both"))
        flow_ = await eventually(lambda: failed(SCRAPEFLOW.resource, NS, "nothing"))
        pipe = await eventually(lambda: failed(PIPELINE.resource, NS, "loop"))
        for obj in (tenant, sink, flow_, pipe):
            assert condition(obj, "Ready")["status"] == "False"
            assert condition(obj, "Ready")["reason"] == "InvalidSpec"
            assert condition(obj, "Ready")["observedGeneration"] == 1
        assert "spec.tenancy: silo tenancy requires plan PAID" in condition(tenant, "Ready")["message"]
        assert "exactly one of clickhouse or webhook" in condition(sink, "Ready")["message"]
        assert "exactly one of targets or targetsFrom" in condition(flow_, "Ready")["message"]
        assert "interval must be at least 1m" in condition(flow_, "Ready")["message"]
        assert "cycle" in condition(pipe, "Ready")["message"]
        made_after = {(r.url.path) for r in operator_requests(kmock) if str(r.method) == "method.POST"}
        assert made_after - made_before <= {"/api/v1/namespaces/default/events", f"/api/v1/namespaces/{NS}/events"}
        assert current(kmock, "v1/namespaces", None, "tenant-cheap") is None
