"""``barista render``: the operator's builders as a CLI, validated input, valid multi-document output."""

from __future__ import annotations

import base64
from pathlib import Path

import kubernetes_validate
import yaml
from typer.testing import CliRunner

from barista.cli import app
from barista_core.plans import plan_spec

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["render", *args], input=stdin)


def test_render_prints_every_manifest_valid_and_without_cluster_only_fields() -> None:
    result = run("-f", str(ROOT / "examples"))
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    kinds = [d["kind"] for d in docs]
    assert kinds.count("Namespace") == 2 and kinds.count("Deployment") == 2 + 4  # 2 silo + 2 sinkers + 2 workers
    for doc in docs:
        kubernetes_validate.validate(doc, "1.37.0", strict=True)
        assert "ownerReferences" not in doc["metadata"]
    quota = next(d for d in docs if d["kind"] == "ResourceQuota" and d["metadata"]["namespace"] == "tenant-acme")
    assert quota["spec"]["hard"]["requests.cpu"] == plan_spec("SAAS").quota.requests_cpu
    assert "# broker: queue sink.acme.commerce-events" in result.stdout
    credentials = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "barista-credentials")
    token = base64.b64decode(credentials["data"]["api-key"]).decode()
    assert token.endswith("generated-in-cluster-by-the-operator"), "placeholders, never real credentials"
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "barista-backends")
    assert set(secret["data"]) == {"postgres-url", "clickhouse-url", "broker-url", "redis-url"}


def test_render_assumes_a_plan_for_tenants_not_given_and_says_so() -> None:
    sink = (ROOT / "examples" / "sink-clickhouse.yaml").read_text()
    result = run("-f", "-", stdin=sink)
    assert result.exit_code == 0, result.output
    assert "Tenant acme is not among the inputs: assuming plan SAAS" in result.stdout


def test_render_refuses_invalid_input_and_prints_nothing() -> None:
    bad = (
        "apiVersion: barista.dev/v1alpha1\nkind: Tenant\nmetadata: {name: cheap}\n"
        "spec: {displayName: C, plan: FREE, tenancy: silo}\n"
    )
    result = run("-f", "-", stdin=bad)
    assert result.exit_code == 1
    assert "spec.tenancy: silo tenancy requires plan PAID" in result.output
    assert "nothing rendered" in result.output and "kind: Namespace" not in result.output


def test_render_refuses_resources_outside_tenant_namespaces() -> None:
    stray = (
        "apiVersion: barista.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: p, namespace: default}\n"
        "spec: {schedule: '@daily', steps: [{name: s, score: {}}]}\n"
    )
    result = run("-f", "-", stdin=stray)
    assert result.exit_code == 1 and "not a tenant namespace" in result.output
