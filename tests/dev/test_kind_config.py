"""kind-config.yaml is a valid kind v1alpha4 Cluster (schema kept next to this test) for Barista."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
VALIDATOR = jsonschema.Draft7Validator(json.loads((Path(__file__).parent / "kind-v1alpha4.schema.json").read_text()))


def errors(config: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in VALIDATOR.iter_errors(config)]


def test_validates_against_v1alpha4() -> None:
    VALIDATOR.check_schema(VALIDATOR.schema)
    assert not errors(CONFIG)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c.update(apiVersion="kind.x-k8s.io/v1alpha3"), "v1alpha4"),
        (lambda c: c.update(nodes=[{"role": "master"}]), "'master' is not one of"),
        (lambda c: c["nodes"][0].update(extraPortMapping=[]), "'extraPortMapping' was unexpected"),
        (lambda c: c["nodes"][0]["extraPortMappings"][0].update(hostPort="80"), "is not of type 'integer'"),
        (lambda c: c.update(networking={"kubeProxyMode": "userspace"}), "'userspace' is not one of"),
        (lambda c: c.update(name="Barista_Dev"), "does not match"),
    ],
    ids=["api-version", "role", "misspelt-field", "port-type", "proxy-mode", "name"],
)
def test_schema_rejects_what_kind_rejects(change, expected: str) -> None:
    config = copy.deepcopy(CONFIG)
    change(config)
    assert any(expected in e for e in errors(config)), errors(config)


def test_cluster_for_barista_with_ingress_ports() -> None:
    assert CONFIG["name"] == "barista"
    ingress_nodes = [n for n in CONFIG["nodes"] if n.get("labels", {}).get("ingress-ready") == "true"]
    assert len(ingress_nodes) == 1
    mapped = {(m["containerPort"], m["hostPort"]) for m in ingress_nodes[0]["extraPortMappings"]}
    assert {(80, 80), (443, 443)} <= mapped


def test_containerd_reads_registry_mirrors_from_a_hosts_directory() -> None:
    """containerd 2 refuses the old inline `registry.mirrors`; mirrors live in hosts.toml files."""
    patches = [tomllib.loads(patch) for patch in CONFIG["containerdConfigPatches"]]
    registry = [p["plugins"]["io.containerd.grpc.v1.cri"]["registry"] for p in patches]
    assert [r["config_path"] for r in registry] == ["/etc/containerd/certs.d"]
    assert not any("mirrors" in r for r in registry)
