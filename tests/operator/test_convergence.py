"""What every kind shares against kmock's emulator: Events on phase transitions, children that exist
before their owner (409 on create is success; someone else's object is never taken over), peering."""

from __future__ import annotations

import asyncio
import datetime

from barista_operator import labels as L
from barista_operator.api import PIPELINE, SINK, TENANT
from barista_operator.testing import declare_resources, running_operator, settings_for_tests
from tests.operator.conftest import condition, cr, current, eventually, operator_requests, ready

NS = "tenant-acme"
DEPLOYMENTS = "apps/v1/deployments"
CONFIG_MAPS = "v1/configmaps"
PEERINGS = "kopf.dev/v1/clusterkopfpeerings"
ACME = cr("Tenant", "acme", {"displayName": "Acme", "plan": "SAAS"})


def events_about(kmock, kind: str, name: str) -> list[tuple[str, str, str]]:
    """(type, reason, message) of the Events about one object, in the order they were posted."""
    out = []
    for (resource, _, _), obj in list(kmock.objects.items()):
        if resource.plural != "events" or obj.deleted:
            continue
        event = obj.raw
        involved = event.get("involvedObject") or {}
        if involved.get("kind") == kind and involved.get("name") == name:
            out.append((event.get("type"), event.get("reason"), event.get("message", "")))
    return out


def tenant_watches(kmock) -> list[object]:
    """kopf's watch requests on Tenants so far (one more each time it resumes)."""
    return [r for r in operator_requests(kmock) if r.url.path.endswith("/tenants") and r.params.get("watch") == "true"]


async def set_available(api, name: str, replicas: int) -> None:
    """Play the deployment controller (the emulator has none)."""
    status = {"replicas": replicas, "availableReplicas": replicas, "readyReplicas": replicas}
    await api.patch(DEPLOYMENTS, name, {"status": status}, NS, "status")


async def test_phase_transitions_are_kubernetes_events(kmock, api, tmp_path):
    async with running_operator(kmock, tmp_path):
        await api.create(TENANT.resource, ACME)
        await eventually(lambda: ready(current(kmock, TENANT.resource, None, "acme"), 1))
        tenant_events = await eventually(lambda: events_about(kmock, "Tenant", "acme"))
        assert [(t, r) for t, r, _ in tenant_events] == [("Normal", "Ready")]
        assert "tenant acme is provisioned" in tenant_events[0][2]

        # Provisioning on the way is quiet; Ready, losing the pods (Degraded) and getting them back are not
        await api.create(SINK.resource, cr("Sink", "orders", {"clickhouse": {}}, namespace=NS))
        await eventually(lambda: current(kmock, DEPLOYMENTS, NS, "sink-orders"))
        await set_available(api, "sink-orders", 1)
        await eventually(lambda: ready(current(kmock, SINK.resource, NS, "orders"), 1))
        await eventually(lambda: events_about(kmock, "Sink", "orders"))
        await set_available(api, "sink-orders", 0)
        await eventually(lambda: current(kmock, SINK.resource, NS, "orders")["status"]["phase"] == "Degraded")
        await set_available(api, "sink-orders", 1)
        await eventually(lambda: len(events_about(kmock, "Sink", "orders")) == 3)
        sink_events = events_about(kmock, "Sink", "orders")
        assert [(t, r) for t, r, _ in sink_events] == [
            ("Normal", "Ready"),
            ("Warning", "Degraded"),
            ("Normal", "Ready"),
        ]
        assert sink_events[1][2] == "WaitingForPods: DeploymentAvailable: 0/1 sinker pods available"

        # a permanent failure is a Warning with the reason and the problem
        await api.create(PIPELINE.resource, cr("Pipeline", "empty", {"schedule": "@daily", "steps": []}, namespace=NS))
        failed = await eventually(lambda: events_about(kmock, "Pipeline", "empty"))
        assert failed[0][:2] == ("Warning", "Failed") and failed[0][2].startswith("InvalidSpec: ")
    assert len(events_about(kmock, "Tenant", "acme")) == 1, "no Event without a transition"


async def test_children_made_before_their_owner_are_adopted_and_foreign_ones_refused(kmock, api, tmp_path):
    async with running_operator(kmock, tmp_path):
        await api.create(TENANT.resource, ACME)
        await eventually(lambda: ready(current(kmock, TENANT.resource, None, "acme"), 1))
        # a sinker Deployment made by this operator for this Sink (say before a restore), drifted meanwhile
        labels = L.owner_selector("Sink", "orders")
        await api.create(DEPLOYMENTS, {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "sink-orders", "namespace": NS, "labels": labels},
            "spec": {"replicas": 5, "selector": {"matchLabels": {"x": "y"}}, "template": {
                "metadata": {"labels": {"x": "y"}}, "spec": {"containers": [{"name": "old", "image": "old"}]}}},
        })  # fmt: skip
        # a ConfigMap someone else made under the name a Pipeline's DAG spec needs
        foreign = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pipeline-boards", "namespace": NS},
                   "data": {"mine": "yes"}}  # fmt: skip
        await api.create(CONFIG_MAPS, foreign)
        before = len(operator_requests(kmock))

        await api.create(SINK.resource, cr("Sink", "orders", {"clickhouse": {}, "replicas": 1}, namespace=NS))
        await api.create(PIPELINE.resource, cr("Pipeline", "boards", {
            "schedule": "@daily", "steps": [{"name": "s", "score": {}}]}, namespace=NS))  # fmt: skip

        # the Sink: its POST met a 409, which counts as success; the existing Deployment is patched to spec
        sink = await eventually(
            lambda: condition(s := current(kmock, SINK.resource, NS, "orders"), "DeploymentAvailable") and s
        )
        assert sink["status"]["phase"] == "Provisioning" and sink["status"]["observedGeneration"] == 1
        deployment = current(kmock, DEPLOYMENTS, NS, "sink-orders")
        assert deployment["spec"]["replicas"] == 1
        assert [c["name"] for c in deployment["spec"]["template"]["spec"]["containers"]] == ["sinker"]
        calls = [
            (str(r.method.value), r.url.path)
            for r in operator_requests(kmock)[before:]
            if r.url.path.endswith(("/deployments", "/deployments/sink-orders"))
        ]
        path = f"/apis/apps/v1/namespaces/{NS}/deployments"
        assert calls[:3] == [("POST", path), ("GET", f"{path}/sink-orders"), ("PATCH", f"{path}/sink-orders")]
        await set_available(api, "sink-orders", 1)
        await eventually(lambda: ready(current(kmock, SINK.resource, NS, "orders"), 1))

        # the Pipeline: the name is taken by an object Barista did not make: reported, never overwritten
        pipeline = await eventually(
            lambda: (
                (p := current(kmock, PIPELINE.resource, NS, "boards")) and p["status"].get("phase") == "Failed" and p
            )
        )
        assert condition(pipeline, "Ready")["reason"] == "ChildConflict"
        assert condition(pipeline, "DagSpecPublished")["status"] == "False"
        assert (
            "ConfigMap tenant-acme/pipeline-boards exists but was not made by Barista"
            in (condition(pipeline, "Ready")["message"])
        )
        assert current(kmock, CONFIG_MAPS, NS, "pipeline-boards")["data"] == {"mine": "yes"}
        assert not any(
            str(r.method.value) == "PATCH" and r.url.path.endswith("/configmaps/pipeline-boards")
            for r in operator_requests(kmock)
        )


async def test_peering_leaves_the_work_to_a_higher_priority_operator(kmock, api, tmp_path):
    declare_resources(kmock)
    await api.create(PEERINGS, {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering",
                                "metadata": {"name": "barista"}})  # fmt: skip
    settings = settings_for_tests(standalone=False, peering_name="barista", priority=100)
    async with running_operator(kmock, tmp_path, settings=settings):
        # it announces itself in the peering object, with its priority
        peers = await eventually(lambda: (current(kmock, PEERINGS, None, "barista") or {}).get("status"))
        assert [p["priority"] for p in peers.values()] == [100]

        # another operator with a higher priority appears: this one pauses
        now = datetime.datetime.now(datetime.UTC).isoformat()
        other = {"priority": 200, "lifetime": 60, "lastseen": now}
        await api.patch(PEERINGS, "barista", {"status": {"other@elsewhere": other}})
        await asyncio.sleep(1.0)
        await api.create(TENANT.resource, ACME)
        await asyncio.sleep(2.0)
        assert not (current(kmock, TENANT.resource, None, "acme") or {}).get("status")
        assert current(kmock, "v1/namespaces", None, NS) is None

        # the other operator leaves: this one resumes and works again
        await api.patch(PEERINGS, "barista", {"status": {"other@elsewhere": None}})
        await eventually(lambda: len(tenant_watches(kmock)) >= 2)
        await api.create(TENANT.resource, cr("Tenant", "late", {"displayName": "Late", "plan": "FREE"}))
        await eventually(lambda: ready(current(kmock, TENANT.resource, None, "late"), 1))
        # The emulator replays every object, stale, on each new watch (it ignores resourceVersion), so after
        # the resume kopf sees acme's creation twice and its second finalizer patch fails its resourceVersion
        # test (422): kopf then waits for acme's next event, which on an API server would be the echo of its
        # first patch. Here the next change to acme plays that part.
        await api.patch(TENANT.resource, "acme", {"metadata": {"labels": {"touched": "yes"}}})
        await eventually(lambda: ready(current(kmock, TENANT.resource, None, "acme"), 1))
    assert "other@elsewhere" not in (current(kmock, PEERINGS, None, "barista").get("status") or {})
