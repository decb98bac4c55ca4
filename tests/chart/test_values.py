"""values.yaml is documented line by line, values.schema.json describes every value, and bad values
are rejected with a message that names the value and the problem."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "barista"
VALUES_TEXT = (CHART / "values.yaml").read_text()
VALUES = yaml.safe_load(VALUES_TEXT)
SCHEMA = json.loads((CHART / "values.schema.json").read_text())
PARAMS = re.findall(r"^\s*## @param (\S+) (.+)$", VALUES_TEXT, re.MULTILINE)
DOCUMENTED = {path: description.strip() for path, description in PARAMS}


def lookup(tree: Any, path: str) -> Any:
    for part in path.split("."):
        tree = tree[part]
    return tree


def leaves(tree: dict[str, Any], prefix: str = "") -> list[str]:
    """Paths of values that are not further structured (scalars, lists and empty maps)."""
    out = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and path not in DOCUMENTED:
            out += leaves(value, path + ".")
        else:
            out.append(path)
    return out


def schema_node(path: str) -> dict[str, Any]:
    node = SCHEMA
    for part in path.split("."):
        assert "properties" in node and part in node["properties"], f"values.schema.json has no {path}"
        node = node["properties"][part]
    return node


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A schema node with its allOf/$ref definition merged in."""
    merged = dict(node)
    for part in node.get("allOf", []):
        merged = {**SCHEMA["definitions"][part["$ref"].rsplit("/", 1)[1]], **merged}
    if "$ref" in node:
        merged = {**SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[1]], **merged}
    return merged


# ---- documentation ----------------------------------------------------------------------------------------


def test_every_value_is_documented() -> None:
    undocumented = [path for path in leaves(VALUES) if path not in DOCUMENTED]
    assert not undocumented, f"values without a `## @param` line: {undocumented}"


def test_every_param_names_a_value() -> None:
    assert len(PARAMS) == len(DOCUMENTED), "a value is documented twice"
    for path, description in DOCUMENTED.items():
        try:
            lookup(VALUES, path)
        except (KeyError, TypeError):
            pytest.fail(f"`## @param {path}` documents no value")
        assert len(description) >= 10, f"{path}: say what it does"


def test_params_come_before_their_values() -> None:
    """Each `## @param` line sits just above its value (or above the block holding it)."""
    lines = VALUES_TEXT.splitlines()
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)## @param (\S+) ", line)
        if not match:
            continue
        key = match.group(2).split(".")[-1]
        following = [text for text in lines[number + 1 :] if not text.strip().startswith("#") and text.strip()]
        assert following, match.group(2)
        nearby = "\n".join(following[:8])
        assert re.search(rf"^\s*{re.escape(key)}:", nearby, re.MULTILINE), (
            f"{match.group(2)}: documented far from its value"
        )


# ---- schema ---------------------------------------------------------------------------------------------


def test_schema_describes_every_documented_value() -> None:
    for path, description in DOCUMENTED.items():
        node = schema_node(path)
        assert node.get("description") == description, f"{path}: schema description differs from the @param line"
        assert "type" in node, f"{path}: no type"
        assert node.get("default") == lookup(VALUES, path), f"{path}: schema default differs from values.yaml"


def test_schema_has_nothing_values_yaml_lacks() -> None:
    def walk(node: dict[str, Any], tree: Any, path: str) -> None:
        if path in DOCUMENTED:
            return
        assert isinstance(tree, dict), path
        assert set(node["properties"]) == set(tree), f"{path or 'values'}: schema and values.yaml keys differ"
        for key, child in node["properties"].items():
            walk(child, tree[key], f"{path}.{key}" if path else key)

    walk(SCHEMA, VALUES, "")


def test_every_schema_node_has_description_type_default() -> None:
    def walk(node: dict[str, Any], path: str) -> None:
        if path:
            for keyword in ("description", "type", "default"):
                assert keyword in node, f"{path}: no {keyword}"
        for key, child in node.get("properties", {}).items():
            walk(child, f"{path}.{key}" if path else key)

    walk(SCHEMA, "")


def test_structured_objects_reject_unknown_keys() -> None:
    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if "properties" in node:
                assert node.get("additionalProperties") is False, f"{path}: additionalProperties must be false"
            if node.get("type") == "object" and "properties" not in node and "allOf" not in node:
                assert "additionalProperties" in node or "$ref" in node or path.endswith("Affinity"), (
                    f"{path}: free-form object without a schema for its values"
                )
            for key, child in node.items():
                walk(child, f"{path}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{path}/{index}")

    walk(SCHEMA, "")


def test_defaults_and_profiles_satisfy_the_schema() -> None:
    validator = jsonschema.Draft7Validator(SCHEMA)
    validator.check_schema(SCHEMA)
    assert not list(validator.iter_errors(VALUES))
    for path in [*CHART.glob("values-*.yaml"), *(CHART / "ci").glob("values-*.yaml")]:
        merged = merge(VALUES, yaml.safe_load(path.read_text()))
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(merged)]
        assert not errors, f"{path.name}: {errors}"


def merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {key: merge(base.get(key), override[key]) if key in base else override[key] for key in override} | {
            key: value for key, value in base.items() if key not in override
        }
    return override


# ---- bad values -----------------------------------------------------------------------------------------

BAD_VALUES = [
    # (id, values, what the message must say)
    ("wrong-type", {"gateway": {"replicaCount": "two"}}, ["/gateway/replicaCount", "got string, want integer"]),
    ("unknown-key", {"gateway": {"replicas": 2}}, ["/gateway", "additional properties 'replicas' not allowed"]),
    ("unknown-top-level", {"gatway": {}}, ["additional properties 'gatway' not allowed"]),
    ("unknown-nested", {"operator": {"image": {"name": "x"}}}, ["/operator/image", "'name' not allowed"]),
    ("pull-policy", {"ingest": {"image": {"pullPolicy": "Sometimes"}}}, ["/ingest/image/pullPolicy", "must be one of"]),
    ("digest", {"scoring": {"image": {"digest": "md5:abc"}}}, ["/scoring/image/digest", "does not match pattern"]),
    ("log-level", {"logging": {"level": "TRACE"}}, ["/logging/level", "must be one of"]),
    ("cpu-quantity", {"gateway": {"resources": {"limits": {"cpu": "lots"}}}}, ["/gateway/resources/limits/cpu"]),
    ("resources-key", {"gateway": {"resources": {"limit": {}}}}, ["/gateway/resources", "'limit' not allowed"]),
    ("replicas-negative", {"scoring": {"replicaCount": -1}}, ["/scoring/replicaCount", "minimum"]),
    ("operator-zero", {"operator": {"replicaCount": 0}}, ["/operator/replicaCount", "minimum"]),
    ("port", {"gateway": {"service": {"port": 70000}}}, ["/gateway/service/port", "maximum"]),
    ("service-type", {"ingest": {"service": {"type": "Ingress"}}}, ["/ingest/service/type", "must be one of"]),
    ("backend-name", {"gateway": {"backends": ["mysql"]}}, ["/gateway/backends/0", "must be one of"]),
    (
        "backend-twice",
        {"gateway": {"backends": ["redis", "redis"]}},
        ["/gateway/backends", "items at 0 and 1 are equal"],
    ),
    ("postgres-scheme", {"postgresql": {"enabled": False, "url": "mysql://db/x"}}, ["/postgresql/url", "pattern"]),
    ("amqp-scheme", {"rabbitmq": {"enabled": False, "url": "redis://x"}}, ["/rabbitmq/url", "pattern"]),
    ("secret-name", {"redis": {"enabled": False, "existingSecret": "Not_A_Name"}}, ["/redis/existingSecret"]),
    ("anti-affinity", {"gateway": {"podAntiAffinityPreset": "always"}}, ["/gateway/podAntiAffinityPreset"]),
    ("security-context", {"podSecurityContext": {"runAsUsr": 1}}, ["/podSecurityContext", "'runAsUsr' not allowed"]),
    (
        "env-without-name",
        {"gateway": {"extraEnv": [{"value": "x"}]}},
        ["/gateway/extraEnv/0", "missing property 'name'"],
    ),
    ("signing-key", {"gateway": {"auth": {"signingKeys": "hunter2"}}}, ["/gateway/auth/signingKeys", "pattern"]),
    ("airflow-config", {"airflow": {"config": {"PARALLELISM": "4"}}}, ["/airflow/config", "'PARALLELISM' not allowed"]),
    ("interval", {"metrics": {"serviceMonitor": {"interval": "often"}}}, ["/metrics/serviceMonitor/interval"]),
    ("pdb-percent", {"gateway": {"pdb": {"maxUnavailable": "half"}}}, ["/gateway/pdb/maxUnavailable", "pattern"]),
    # rules across values, checked by templates/validate.yaml
    ("backend-missing", {"redis": {"enabled": False}}, ["redis: set redis.enabled=true (deploy one) or redis.url"]),
    (
        "backend-twice-configured",
        {"clickhouse": {"url": "clickhouse://u:p@ch:8123/default"}},
        ["clickhouse.enabled=true deploys one; leave clickhouse.url and clickhouse.existingSecret empty"],
    ),
    (
        "url-and-secret",
        {"postgresql": {"enabled": False, "url": "postgresql://h/db", "existingSecret": "pg"}},
        ["postgresql: set only one of postgresql.url and postgresql.existingSecret"],
    ),
    (
        "standalone-replicas",
        {"operator": {"standalone": True, "replicaCount": 2}},
        ["operator: standalone=true runs without peering, so replicaCount must be 1"],
    ),
    (
        "autoscaling-range",
        {"ingest": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 3}}},
        ["ingest: autoscaling.minReplicas (5) exceeds autoscaling.maxReplicas (3)"],
    ),
    (
        "airflow-database",
        {"postgresql": {"enabled": False, "existingSecret": "pg"}},
        ["airflow: its metadata database needs airflow.database.url or airflow.database.existingSecret"],
    ),
    (
        "tls-without-host",
        {"gateway": {"ingress": {"enabled": True, "tls": True, "host": ""}}},
        ["gateway: ingress.tls needs ingress.host"],
    ),
    ("pdb-empty", {"scoring": {"pdb": {"create": True, "maxUnavailable": ""}}}, ["scoring: pdb.create needs"]),
]


@pytest.mark.parametrize(("values", "expected"), [pytest.param(v, e, id=i) for i, v, e in BAD_VALUES])
def test_bad_values_are_rejected_clearly(chart, values: dict[str, Any], expected: list[str]) -> None:
    message = chart.render_error(values)
    for fragment in expected:
        assert fragment in message, f"expected {fragment!r} in:\n{message}"
