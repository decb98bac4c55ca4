"""Security and wiring policy over everything every profile renders.

Per workload: non-root, read-only root filesystem, no privilege escalation, all capabilities dropped,
seccomp RuntimeDefault, requests and limits, liveness and readiness probes, app.kubernetes.io labels,
pinned images, API tokens only where RBAC grants something, credentials only from Secrets.
Per profile: RBAC without wildcards, no credentials in ConfigMaps, and every reference (Secret,
ConfigMap, ServiceAccount, Service selector, port name, HPA/PDB target) resolving to a rendered object.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/version",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)
# labels that change with every upgrade must stay out of immutable selectors
MUTABLE_LABELS = ("app.kubernetes.io/version", "helm.sh/chart")
CREDENTIAL_ENV = re.compile(
    r"(PASSWORD|SECRET|TOKEN|SIGNING|FERNET|_CONN$|REDISCLI_AUTH|^BARISTA_(OPERATOR_)?(POSTGRES|REDIS|BROKER|CLICKHOUSE)_URL$)"
)
CREDENTIAL_VALUE = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^@\s/]+@|-----BEGIN [A-Z ]*PRIVATE KEY-----")


def security(container: dict[str, Any], pod: dict[str, Any], key: str) -> Any:
    """A security setting as Kubernetes resolves it: the container's, else the pod's."""
    return container.get("securityContext", {}).get(key, pod.get("securityContext", {}).get(key))


# ---- per workload ---------------------------------------------------------------------------------------


def test_runs_as_non_root_with_seccomp(chart, workload_case) -> None:
    _profile, obj = workload_case
    pod = chart.pod_spec(obj)
    for c in chart.containers(obj):
        where = f"{chart.object_id(obj)} container {c['name']}"
        assert security(c, pod, "runAsNonRoot") is True, f"{where}: runAsNonRoot"
        assert security(c, pod, "runAsUser") != 0, f"{where}: runs as uid 0"
        seccomp = security(c, pod, "seccompProfile") or {}
        assert seccomp.get("type") == "RuntimeDefault", f"{where}: seccomp {seccomp}"


def test_containers_are_locked_down(chart, workload_case) -> None:
    _profile, obj = workload_case
    for c in chart.containers(obj):
        where = f"{chart.object_id(obj)} container {c['name']}"
        context = c.get("securityContext", {})
        assert context.get("readOnlyRootFilesystem") is True, f"{where}: root filesystem is writable"
        assert context.get("allowPrivilegeEscalation") is False, f"{where}: privilege escalation allowed"
        assert context.get("privileged") is not True, f"{where}: privileged"
        capabilities = context.get("capabilities", {})
        assert "ALL" in capabilities.get("drop", []), f"{where}: capabilities not dropped"
        assert not capabilities.get("add"), f"{where}: adds capabilities {capabilities.get('add')}"


def test_requests_and_limits(chart, workload_case) -> None:
    _profile, obj = workload_case
    for c in chart.containers(obj):
        resources = c.get("resources", {})
        for section in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                assert resource in resources.get(section, {}), (
                    f"{chart.object_id(obj)} container {c['name']}: no {section}.{resource}"
                )


def test_long_running_containers_have_probes(chart, workload_case) -> None:
    _profile, obj = workload_case
    if obj["kind"] in ("Job", "CronJob"):  # run to completion: no probes, but a bounded retry
        assert chart.pod_spec(obj)["restartPolicy"] in ("OnFailure", "Never"), chart.object_id(obj)
        assert "backoffLimit" in (obj["spec"] if obj["kind"] == "Job" else obj["spec"]["jobTemplate"]["spec"])
        return
    for c in chart.containers(obj, init=False):
        port_names = {p["name"] for p in c.get("ports", []) if "name" in p}
        for probe_name in ("livenessProbe", "readinessProbe"):
            probe = c.get(probe_name)
            assert probe, f"{chart.object_id(obj)} container {c['name']}: no {probe_name}"
            handler = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
            if handler and isinstance(handler.get("port"), str):
                assert handler["port"] in port_names, (
                    f"{chart.object_id(obj)} {probe_name} names port {handler['port']}"
                )


def test_standard_labels(chart, workload_case) -> None:
    _profile, obj = workload_case
    template_labels = (
        obj["spec"]["jobTemplate"]["spec"]["template"] if obj["kind"] == "CronJob" else obj["spec"]["template"]
    )["metadata"]["labels"]
    for where, labels in (("metadata", obj["metadata"]["labels"]), ("pod template", template_labels)):
        missing = [label for label in STANDARD_LABELS if not labels.get(label)]
        assert not missing, f"{chart.object_id(obj)} {where}: missing {missing}"
        assert labels["app.kubernetes.io/part-of"] == "barista"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
    selector = obj["spec"].get("selector", {}).get("matchLabels")
    if selector is not None:
        assert selector.items() <= template_labels.items(), f"{chart.object_id(obj)}: selector does not select its pods"
        assert not set(MUTABLE_LABELS) & set(selector), f"{chart.object_id(obj)}: selector holds labels that change"


def test_images_are_pinned(chart, workload_case) -> None:
    _profile, obj = workload_case
    for c in chart.containers(obj):
        image = c["image"]
        assert "@sha256:" in image or re.search(r":[^/:]+$", image), f"{image}: no tag or digest"
        assert not image.endswith(":latest"), f"{image}: latest is not a version"


def test_api_token_only_where_rbac_grants_something(chart, workload_case) -> None:
    profile, obj = workload_case
    objects = chart.render_chart(profile=profile)
    pod = chart.pod_spec(obj)
    account = pod.get("serviceAccountName", "default")
    bound = {
        subject["name"]
        for binding in objects
        if binding["kind"] in ("RoleBinding", "ClusterRoleBinding")
        for subject in binding["subjects"]
        if subject["kind"] == "ServiceAccount"
    }
    assert "automountServiceAccountToken" in pod, f"{chart.object_id(obj)}: token mounting left to the default"
    if pod["automountServiceAccountToken"]:
        assert account in bound, f"{chart.object_id(obj)} mounts an API token, but {account} has no role"
    if account != "default":
        assert chart.find(objects, "ServiceAccount", account), (
            f"{chart.object_id(obj)}: ServiceAccount {account} missing"
        )


def test_credentials_only_from_secrets(chart, workload_case) -> None:
    _profile, obj = workload_case
    for c in chart.containers(obj):
        for env in c.get("env", []):
            where = f"{chart.object_id(obj)} container {c['name']} env {env['name']}"
            if "value" in env:
                assert not CREDENTIAL_VALUE.search(str(env["value"])), f"{where}: a credential in a literal"
            if CREDENTIAL_ENV.search(env["name"]):
                assert "secretKeyRef" in env.get("valueFrom", {}), f"{where}: credentials must come from a Secret"
        for arg in [*c.get("command", []), *c.get("args", [])]:
            assert not CREDENTIAL_VALUE.search(arg), f"{chart.object_id(obj)} container {c['name']}: credential in args"


def test_volumes_and_mounts_resolve(chart, workload_case) -> None:
    _profile, obj = workload_case
    pod = chart.pod_spec(obj)
    volumes = {v["name"] for v in pod.get("volumes", [])}
    volumes |= {t["metadata"]["name"] for t in obj["spec"].get("volumeClaimTemplates", [])}
    for c in chart.containers(obj):
        for mount in c.get("volumeMounts", []):
            assert mount["name"] in volumes, f"{chart.object_id(obj)} mounts unknown volume {mount['name']}"
        assert len({m["mountPath"] for m in c.get("volumeMounts", [])}) == len(c.get("volumeMounts", []))


# ---- per profile ----------------------------------------------------------------------------------------


def _profile_strings(chart, profile: str) -> set[str]:
    """Every string in the values files of a profile (names of Secrets the user brings)."""
    strings: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            strings.add(node)

    for values_file in ("values.yaml", *chart.PROFILES[profile]):
        walk(yaml.safe_load(Path(chart.CHART / values_file).read_text()))
    return strings


def test_referenced_secrets_and_configmaps_exist(chart, profile: str) -> None:
    objects = chart.render_chart(profile=profile)
    secrets = {o["metadata"]["name"]: o for o in chart.find(objects, "Secret")}
    configmaps = {o["metadata"]["name"]: o for o in chart.find(objects, "ConfigMap")}
    brought = _profile_strings(chart, profile)
    for obj in objects:
        if obj["kind"] not in chart.WORKLOAD_KINDS:
            continue
        pod = chart.pod_spec(obj)
        refs: list[tuple[str, str, str | None]] = []
        for c in chart.containers(obj):
            for env in c.get("env", []):
                ref = env.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    refs.append(("Secret", ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]))
                if "configMapKeyRef" in ref:
                    refs.append(("ConfigMap", ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"]))
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    refs.append(("ConfigMap", source["configMapRef"]["name"], None))
                if "secretRef" in source:
                    refs.append(("Secret", source["secretRef"]["name"], None))
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                for item in volume["secret"].get("items", [{"key": None}]):
                    refs.append(("Secret", volume["secret"]["secretName"], item["key"]))
            if "configMap" in volume:
                for item in volume["configMap"].get("items", [{"key": None}]):
                    refs.append(("ConfigMap", volume["configMap"]["name"], item["key"]))
        for kind, name, key in refs:
            rendered = (secrets if kind == "Secret" else configmaps).get(name)
            if rendered is None:
                assert kind == "Secret" and name in brought, f"{chart.object_id(obj)} needs {kind} {name}: not rendered"
                continue
            if key is not None:
                data = {**rendered.get("data", {}), **rendered.get("stringData", {})}
                assert key in data, f"{chart.object_id(obj)} needs key {key} of {kind} {name}"


def test_no_credentials_in_configmaps(chart, profile: str) -> None:
    for cm in chart.find(chart.render_chart(profile=profile), "ConfigMap"):
        for key, value in cm.get("data", {}).items():
            assert not CREDENTIAL_ENV.search(key), f"ConfigMap {cm['metadata']['name']}: key {key}"
            assert not CREDENTIAL_VALUE.search(value), f"ConfigMap {cm['metadata']['name']}: {key} holds a credential"


def test_rbac_has_no_wildcards(chart, profile: str) -> None:
    objects = chart.render_chart(profile=profile)
    roles = chart.find(objects, "ClusterRole") + chart.find(objects, "Role")
    for role in roles:
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                assert not any("*" in item for item in rule.get(field, [])), (
                    f"{chart.object_id(role)}: wildcard in {field}: {rule}"
                )
            assert rule.get("verbs"), f"{chart.object_id(role)}: rule without verbs"
    for binding in chart.find(objects, "ClusterRoleBinding") + chart.find(objects, "RoleBinding"):
        kind, name = binding["roleRef"]["kind"], binding["roleRef"]["name"]
        assert chart.find(objects, kind, name), f"{chart.object_id(binding)} binds missing {kind} {name}"
        for subject in binding["subjects"]:
            assert chart.find(objects, "ServiceAccount", subject["name"]), f"{chart.object_id(binding)}: {subject}"


def _pods(chart, objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, str], list[dict[str, Any]]]]:
    return [
        (obj, obj["spec"]["template"]["metadata"]["labels"], chart.containers(obj, init=False))
        for obj in objects
        if obj["kind"] in ("Deployment", "StatefulSet", "Job")
    ]


def test_services_select_pods_and_name_their_ports(chart, profile: str) -> None:
    objects = chart.render_chart(profile=profile)
    pods = _pods(chart, objects)
    for service in chart.find(objects, "Service"):
        selector = service["spec"]["selector"]
        matched = [(obj, cs) for obj, labels, cs in pods if selector.items() <= labels.items()]
        assert matched, f"Service {service['metadata']['name']} selects no pods"
        for port in service["spec"]["ports"]:
            if isinstance(port.get("targetPort"), str):
                for obj, cs in matched:
                    names = {p.get("name") for c in cs for p in c.get("ports", [])}
                    assert port["targetPort"] in names, (
                        f"Service {service['metadata']['name']} -> {chart.object_id(obj)}"
                    )


def test_network_policies_cover_every_pod(chart, profile: str) -> None:
    objects = chart.render_chart(profile=profile)
    policies = chart.find(objects, "NetworkPolicy")
    if not policies:
        disabled = [
            yaml.safe_load(Path(chart.CHART / f).read_text()).get("networkPolicy", {}).get("enabled")
            for f in chart.PROFILES[profile]
        ]
        assert False in disabled, f"{profile}: no NetworkPolicies although the profile does not disable them"
        return

    def selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
        selector = policy["spec"]["podSelector"]
        if not set(selector) <= {"matchLabels", "matchExpressions"}:
            return False
        ok = selector.get("matchLabels", {}).items() <= labels.items()
        for expression in selector.get("matchExpressions", []):
            assert expression["operator"] == "In"
            ok = ok and labels.get(expression["key"]) in expression["values"]
        return ok

    for obj, labels, cs in _pods(chart, objects):
        selecting = [p for p in policies if selects(p, labels)]
        assert selecting, f"{chart.object_id(obj)}: no NetworkPolicy selects its pods"
        names = {p.get("name") for c in cs for p in c.get("ports", [])}
        numbers = {p["containerPort"] for c in cs for p in c.get("ports", [])}
        for policy in selecting:
            for rule in policy["spec"].get("ingress", []):
                for port in rule.get("ports", []):
                    assert port["port"] in names | numbers, (
                        f"{policy['metadata']['name']} opens port {port['port']} {chart.object_id(obj)} does not have"
                    )


def test_autoscalers_and_budgets_target_rendered_workloads(chart, profile: str) -> None:
    objects = chart.render_chart(profile=profile)
    for hpa in chart.find(objects, "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        deployment = chart.one(objects, target["kind"], target["name"])
        assert "replicas" not in deployment["spec"], f"{target['name']}: replicas fight the autoscaler"
    for pdb in chart.find(objects, "PodDisruptionBudget"):
        selector = pdb["spec"]["selector"]["matchLabels"]
        assert any(selector.items() <= labels.items() for _, labels, _ in _pods(chart, objects)), pdb["metadata"][
            "name"
        ]
