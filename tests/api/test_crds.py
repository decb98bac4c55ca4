"""The CRDs: valid Kubernetes objects, structural schemas, generated from the types, fully documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from barista_operator.api import KINDS, ResourceKind
from barista_operator.api.schema import crd_for, undocumented_fields

ROOT = Path(__file__).resolve().parents[2]
CRD_FILES = sorted((ROOT / "crds").glob("*.yaml"))


def test_one_file_per_kind():
    assert [p.name for p in CRD_FILES] == sorted(f"{k.crd_name}.yaml" for k in KINDS)


@pytest.mark.parametrize("path", CRD_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("version", ["1.29.0", "1.37.0"])
def test_crd_is_a_valid_kubernetes_object(path, version):
    kubernetes_validate.validate(yaml.safe_load(path.read_text()), version, strict=True)


def test_committed_crds_are_generated_from_the_types():
    result = subprocess.run(
        [sys.executable, "scripts/gen_crds.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def walk(schema: dict[str, Any], path: str = ""):
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from walk(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from walk(schema["additionalProperties"], f"{path}{{}}")


def openapi(kind: ResourceKind) -> dict[str, Any]:
    return crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_schema_is_structural(kind):
    """The rules kube-apiserver enforces on CRD schemas (structural, no forbidden keywords)."""
    for path, node in walk(openapi(kind)):
        for forbidden in (
            "$ref",
            "anyOf",
            "oneOf",
            "allOf",
            "not",
            "title",
            "uniqueItems",
            "const",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "$defs",
        ):
            assert forbidden not in node, f"{kind.kind}{path}: {forbidden}"
        if path != ".metadata":
            assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), f"{kind.kind}{path}: no type"
        assert not ("properties" in node and "additionalProperties" in node), f"{kind.kind}{path}"
        if node.get("type") == "array":
            assert "maxItems" in node, f"{kind.kind}{path}: unbounded list (CEL cost)"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_spec_strings_are_bounded(kind):
    for path, node in walk(openapi(kind)["properties"]["spec"], ".spec"):
        if node.get("type") == "string" and "enum" not in node:
            assert "maxLength" in node, f"{kind.kind}{path}: unbounded string (CEL cost)"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_every_field_is_described(kind):
    assert undocumented_fields(openapi(kind)) == []


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_conventions(kind):
    crd = crd_for(kind)
    version = crd["spec"]["versions"][0]
    assert crd["spec"]["names"]["categories"] == ["barista"]
    assert crd["spec"]["names"]["shortNames"]
    assert version["subresources"] == {"status": {}}
    assert crd["spec"]["scope"] == ("Namespaced" if kind.namespaced else "Cluster")
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert {"observedGeneration", "phase", "conditions"} <= set(status)
    conditions = status["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map" and conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert set(conditions["items"]["required"]) == {"type", "status", "lastTransitionTime", "reason"}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert "Phase" in columns


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        ("Tenant", ["Plan", "Tenancy", "Phase", "Namespace", "Age"]),
        ("Sink", ["Destination", "Events", "Replicas", "Phase", "Age"]),
        ("ScrapeFlow", ["Source", "Targets", "Interval", "Phase", "Last run"]),
        ("Pipeline", ["Schedule", "Steps", "Phase", "Last run", "Age"]),
    ],
)
def test_printer_columns_match_the_design(kind, columns):
    crd = crd_for(next(k for k in KINDS if k.kind == kind))
    assert [c["name"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]] == columns


def test_cel_rules_compile():
    import celpy

    env = celpy.Environment()
    count = 0
    for kind in KINDS:
        for _, node in walk(openapi(kind)):
            for rule in node.get("x-kubernetes-validations", []):
                env.compile(rule["rule"])
                assert rule["message"]
                count += 1
    assert count >= 12
