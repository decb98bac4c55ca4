"""Every profile lints cleanly and renders objects that Kubernetes 1.29 and 1.37 accept in strict mode."""

from __future__ import annotations

from typing import Any


def test_profiles_exist(chart) -> None:
    assert {"default", "dev", "production"} <= set(chart.PROFILES)
    assert any(name.startswith("ci-") for name in chart.PROFILES), "test scenarios live in charts/barista/ci/"


def test_lint_strict(chart, profile: str) -> None:
    args = ["lint", "--strict", str(chart.CHART)]
    for values_file in chart.PROFILES[profile]:
        args += ["--values", str(chart.CHART / values_file)]
    result = chart.helm(*args, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout, result.stdout


def test_manifest_is_valid(chart, manifest_case: tuple[str, str, dict[str, Any]]) -> None:
    """One object of one profile, validated for one Kubernetes version (CRDs included)."""
    _profile, version, obj = manifest_case
    chart.validate_manifest(obj, version)


def test_object_names_are_unique_and_dns_labels(chart, profile: str) -> None:
    objects = chart.render_chart(profile=profile, include_crds=True)
    keys = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    for obj in objects:
        name = obj["metadata"]["name"]
        assert len(name) <= 253 and name == name.lower(), chart.object_id(obj)
        if obj["kind"] in ("Service", "Deployment", "StatefulSet"):
            assert len(name) <= 63, f"{chart.object_id(obj)}: names of this kind must be DNS labels"


def test_namespaced_objects_go_to_the_release_namespace(chart, profile: str) -> None:
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "ClusterKopfPeering"}
    servicemonitor_namespace = chart.render_chart(profile=profile)
    for obj in servicemonitor_namespace:
        if obj["kind"] in cluster_scoped:
            assert "namespace" not in obj["metadata"], chart.object_id(obj)
        elif obj["kind"] != "ServiceMonitor":  # may live in the monitoring namespace
            assert obj["metadata"].get("namespace") == chart.NAMESPACE, chart.object_id(obj)
