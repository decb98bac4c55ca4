"""What kmock cannot show: drift detection against server-defaulted objects, and status computation."""

from __future__ import annotations

import copy
import json

from barista_operator import labels as L
from barista_operator.reconcile.diff import drift_patch, is_subset, owned_by, parse_quantity
from barista_operator.reconcile.directory import tenant_view
from barista_operator.reconcile.status import Availability, Check, build_status, deployment_check, status_patch

DESIRED = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "sink-x",
        "namespace": "tenant-a",
        "labels": {L.MANAGED_BY: "barista-operator", L.OWNER_KIND: "sink", L.OWNER_NAME: "x"},
        "annotations": {L.APPLIED_HASH: "sha256:1"},
        "ownerReferences": [
            {
                "apiVersion": "barista.dev/v1alpha1",
                "kind": "Sink",
                "name": "x",
                "uid": "u1",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    },
    "spec": {
        "replicas": 1,
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "sinker",
                        "image": "i:1",
                        "ports": [{"name": "probes", "containerPort": 8081}],
                        "resources": {
                            "requests": {"cpu": "0.5", "memory": "1Gi"},
                            "limits": {"cpu": "1", "memory": "1Gi"},
                        },
                    }
                ]
            }
        },
    },
}


def served(desired: dict) -> dict:
    """``desired`` as an API server stores it: defaults added, quantities canonicalised, status, metadata."""
    live = copy.deepcopy(desired)
    live["metadata"] |= {
        "uid": "d1",
        "resourceVersion": "7",
        "generation": 1,
        "creationTimestamp": "2026-01-01T00:00:00Z",
    }
    live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "1"
    live["spec"] |= {"progressDeadlineSeconds": 600, "strategy": {"type": "RollingUpdate"}}
    container = live["spec"]["template"]["spec"]["containers"][0]
    container |= {"terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent"}
    container["ports"][0]["protocol"] = "TCP"
    container["resources"]["requests"]["cpu"] = "500m"
    live["status"] = {"replicas": 1}
    return live


def test_server_defaults_are_not_drift() -> None:
    assert drift_patch(DESIRED, served(DESIRED)) is None


def test_changes_by_others_are_drift_and_patched_back() -> None:
    live = served(DESIRED)
    live["spec"]["replicas"] = 5
    live["metadata"]["labels"][L.OWNER_NAME] = "x"
    assert drift_patch(DESIRED, live) == {"spec": DESIRED["spec"]}
    live = served(DESIRED)
    live["metadata"]["labels"]["app.kubernetes.io/name"] = "other"
    desired = copy.deepcopy(DESIRED)
    desired["metadata"]["labels"]["app.kubernetes.io/name"] = "barista-sinker"
    assert drift_patch(desired, live) == {"metadata": {"labels": {"app.kubernetes.io/name": "barista-sinker"}}}


def test_a_changed_desired_state_sends_every_owned_section_in_full() -> None:
    desired = copy.deepcopy(DESIRED)
    del desired["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]  # a subset of what is live
    desired["metadata"]["annotations"][L.APPLIED_HASH] = "sha256:2"
    patch = drift_patch(desired, served(DESIRED))
    assert patch["spec"] == desired["spec"], "the containers list is replaced, so the removed limits go"
    assert patch["metadata"]["annotations"] == {L.APPLIED_HASH: "sha256:2"}


def test_owner_references_are_added_without_dropping_others() -> None:
    live = served(DESIRED)
    live["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Other", "name": "o", "uid": "u9"}]
    refs = drift_patch(DESIRED, live)["metadata"]["ownerReferences"]
    assert [r["uid"] for r in refs] == ["u9", "u1"]


def test_create_only_sections_are_never_patched() -> None:
    desired = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": {}}, "data": {"k": "bmV3"}}
    live = {**copy.deepcopy(desired), "data": {"k": "b2xk"}}
    assert drift_patch(desired, live, create_only=("data",)) is None
    assert drift_patch(desired, live) == {"data": {"k": "bmV3"}}


def test_subset_rules() -> None:
    assert is_subset({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2, "c": 3}], "d": 4})
    assert not is_subset({"a": [1]}, {"a": [1, 2]}), "lists must have the same length"
    assert not is_subset({"podSelector": {}}, {"podSelector": {"matchLabels": {"x": "y"}}})
    assert not is_subset({"replicas": 1}, {"replicas": True}), "types must match"
    assert is_subset({"requests": {"cpu": "0.5"}}, {"requests": {"cpu": "500m"}})
    assert not is_subset({"env": [{"value": "0.5"}]}, {"env": [{"value": "500m"}]}), "only quantities by value"
    assert parse_quantity("1Gi") == parse_quantity("1024Mi") and parse_quantity("x") is None


def test_ownership_needs_the_same_owner() -> None:
    assert owned_by(served(DESIRED), DESIRED)
    foreign = served(DESIRED)
    foreign["metadata"]["labels"][L.OWNER_NAME] = "y"
    assert not owned_by(foreign, DESIRED)
    assert not owned_by({"metadata": {}}, DESIRED)


def test_ready_summarises_the_first_failing_dependency_and_times_move_only_on_change() -> None:
    checks = [
        Check("NamespaceReady", "True", "Provisioned", "ok"),
        Check("RegistryReady", "False", "BackendUnavailable", "pg down"),
    ]
    first = build_status(
        previous=None, generation=3, checks=checks, phase="Provisioning", ready_message="", now="2026-01-01T00:00:00Z"
    )
    ready = first["conditions"][0]
    assert ready["type"] == "Ready" and ready["status"] == "False" and ready["reason"] == "BackendUnavailable"
    assert ready["message"] == "RegistryReady: pg down" and ready["observedGeneration"] == 3
    assert first["observedGeneration"] == 3
    checks[1] = Check("RegistryReady", "True", "Registered", "row")
    second = build_status(
        previous=first, generation=3, checks=checks, phase="Ready", ready_message="all good", now="2026-01-01T00:05:00Z"
    )
    by_type = {c["type"]: c for c in second["conditions"]}
    assert by_type["Ready"]["status"] == "True" and by_type["Ready"]["lastTransitionTime"] == "2026-01-01T00:05:00Z"
    assert by_type["NamespaceReady"]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    third = build_status(
        previous=second,
        generation=4,
        checks=checks[:1],
        phase="Ready",
        ready_message="all good",
        now="2026-01-01T00:09:00Z",
    )
    assert {c["type"] for c in third["conditions"]} == {"Ready", "NamespaceReady"}
    assert status_patch(second, third) == {"observedGeneration": 4, "conditions": third["conditions"]}
    assert status_patch({"queue": "q"}, {"phase": "Ready"}, clear=("queue",)) == {"phase": "Ready", "queue": None}


def test_deployment_availability() -> None:
    live = {
        "metadata": {"generation": 2},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 2, "availableReplicas": 2, "readyReplicas": 2},
    }
    assert deployment_check([("d", Availability.of(live))]).reason == "MinimumReplicasAvailable"
    stale = {**live, "status": {**live["status"], "observedGeneration": 1}}
    assert deployment_check([("d", Availability.of(stale))]).status == "False"
    assert deployment_check([("d", Availability.of({"spec": {"replicas": 0}}))]).reason == "ScaledToZero"
    assert deployment_check([("d", Availability.missing())]).reason == "DeploymentMissing"
    stalled = {
        **live,
        "status": {
            "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "image pull"}]
        },
    }
    check = deployment_check([("d", Availability.of(stalled))])
    assert (check.reason, check.message) == ("ProgressDeadlineExceeded", "d: image pull")


def test_a_tenant_is_ready_for_its_resources_once_provisioned_not_once_its_silo_pods_run() -> None:
    conditions = [
        {"type": "Ready", "status": "False", "reason": "WaitingForPods"},
        {"type": "NamespaceReady", "status": "True", "reason": "Provisioned"},
        {"type": "RegistryReady", "status": "True", "reason": "Registered"},
        {"type": "DeploymentAvailable", "status": "False", "reason": "WaitingForPods"},
    ]
    body = {
        "metadata": {"name": "a"},
        "spec": {"plan": "PAID", "suspended": True},
        "status": {
            "conditions": conditions,
            "features": ["webhooks", "unknown"],
            "effectiveLimits": {"retentionDays": 90},
        },
    }
    view = tenant_view(body)
    assert view.ready and view.info.suspended and view.info.retention_days == 90
    conditions[2]["status"] = "False"
    assert not tenant_view(body).ready
    assert not tenant_view({**body, "metadata": {"name": "a", "deletionTimestamp": "x"}}).ready
    assert not tenant_view({"metadata": {"name": "a"}, "spec": {"plan": "GOLD"}}).ready


def test_the_native_name_rule_agrees_with_cel() -> None:
    from barista_operator.api import KINDS
    from barista_operator.api.validation import _cel_holds, _cel_holds_json

    for kind in KINDS:
        rule = next(r["rule"] for r in kind.root_rules if "metadata.name" in r["rule"])
        for name in (
            "acme",
            "a",
            "a-b-1",
            "-a",
            "a-",
            "A",
            "a_b",
            "a" * kind.name_max_length,
            "a" * (kind.name_max_length + 1),
            "",
            "ä",
        ):
            value = {"metadata": {"name": name}}
            assert _cel_holds(rule, value) == _cel_holds_json(rule, json.dumps(value)), (kind.kind, name)
