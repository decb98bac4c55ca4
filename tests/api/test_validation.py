"""`barista validate`'s engine: every example valid; a table of invalid resources, each rejected at the
right field with the right reason."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from barista_operator.api import TENANT
from barista_operator.api.validation import apply_defaults, validate_object

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "examples" / name).read_text())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid(path):
    for document in yaml.safe_load_all(path.read_text()):
        assert validate_object(document) == []


def test_there_is_an_example_of_each_kind():
    kinds = {yaml.safe_load(p.read_text())["kind"] for p in EXAMPLES}
    assert kinds == {"Tenant", "Sink", "ScrapeFlow", "Pipeline"}


def mutate(base: str, change) -> dict[str, Any]:
    document = copy.deepcopy(example(base))
    change(document)
    return document


def set_path(path: str, value: Any):
    def change(document: dict[str, Any]) -> None:
        node = document
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        if value is DELETE:
            del node[parts[-1]]
        else:
            node[parts[-1]] = value

    return change


DELETE = object()
TENANT_EX, SINK_EX, FLOW_EX, PIPE_EX = (
    "tenant-acme.yaml",
    "sink-clickhouse.yaml",
    "scrapeflow-instagram.yaml",
    "pipeline-leaderboards.yaml",
)

INVALID = [
    # (id, example, change, field path, words in the reason)
    ("tenant-plan-enum", TENANT_EX, set_path("spec.plan", "GOLD"), "spec.plan", "must be one of"),
    ("tenant-plan-missing", TENANT_EX, set_path("spec.plan", DELETE), "spec.plan", "required"),
    ("tenant-display-name-empty", TENANT_EX, set_path("spec.displayName", ""), "spec.displayName", "at least 1"),
    ("tenant-display-name-long", TENANT_EX, set_path("spec.displayName", "x" * 101), "spec.displayName", "at most 100"),
    ("tenant-silo-needs-paid", TENANT_EX, set_path("spec.tenancy", "silo"), "spec.tenancy", "requires plan PAID"),
    ("tenant-unknown-field", TENANT_EX, set_path("spec.colour", "blue"), "spec.colour", "unknown field"),
    (
        "tenant-bad-email",
        TENANT_EX,
        set_path("spec.contacts.0.email", "not-an-email"),
        "spec.contacts[0].email",
        "does not match",
    ),
    (
        "tenant-too-many-contacts",
        TENANT_EX,
        set_path("spec.contacts", [{"name": "a", "email": "a@b.example"}] * 11),
        "spec.contacts",
        "at most 10",
    ),
    (
        "tenant-limit-zero",
        TENANT_EX,
        set_path("spec.limits.eventsPerSecond", 0),
        "spec.limits.eventsPerSecond",
        "at least 1",
    ),
    (
        "tenant-limit-type",
        TENANT_EX,
        set_path("spec.limits.storageGiB", "lots"),
        "spec.limits.storageGiB",
        "must be an integer",
    ),
    ("tenant-name", TENANT_EX, set_path("metadata.name", "Acme_Retail"), "metadata.name", "DNS labels"),
    ("tenant-name-length", TENANT_EX, set_path("metadata.name", "a" * 57), "metadata.name", "at most 56"),
    ("tenant-namespaced", TENANT_EX, set_path("metadata.namespace", "default"), "metadata.namespace", "cluster-scoped"),
    (
        "tenant-deletion-policy",
        TENANT_EX,
        set_path("spec.deletionPolicy", "Orphan"),
        "spec.deletionPolicy",
        "must be one of",
    ),
    (
        "sink-both-destinations",
        SINK_EX,
        set_path("spec.webhook", {"url": "https://h.example/x", "secretRef": {"name": "s", "key": "k"}}),
        "spec",
        "exactly one of clickhouse or webhook",
    ),
    ("sink-no-destination", SINK_EX, set_path("spec.clickhouse", DELETE), "spec", "exactly one of"),
    ("sink-empty-event-types", SINK_EX, set_path("spec.eventTypes", []), "spec.eventTypes", "at least 1 item"),
    (
        "sink-bad-pattern",
        SINK_EX,
        set_path("spec.eventTypes", ["Order Created"]),
        "spec.eventTypes[0]",
        "does not match",
    ),
    ("sink-replicas", SINK_EX, set_path("spec.replicas", 51), "spec.replicas", "at most 50"),
    (
        "sink-backoff-order",
        SINK_EX,
        set_path("spec.delivery.maxBackoffMs", 100),
        "spec.delivery.initialBackoffMs",
        "must not exceed maxBackoffMs",
    ),
    (
        "sink-webhook-url",
        "sink-webhook.yaml",
        set_path("spec.webhook.url", "ftp://files.example"),
        "spec.webhook.url",
        "does not match",
    ),
    (
        "sink-webhook-secret",
        "sink-webhook.yaml",
        set_path("spec.webhook.secretRef", DELETE),
        "spec.webhook.secretRef",
        "required",
    ),
    (
        "sink-table-identifier",
        SINK_EX,
        set_path("spec.clickhouse.table", "drop table;"),
        "spec.clickhouse.table",
        "does not match",
    ),
    ("flow-source", FLOW_EX, set_path("spec.source", "tiktok.profile"), "spec.source", "must be one of"),
    ("flow-interval-too-short", FLOW_EX, set_path("spec.interval", "30s"), "spec.interval", "at least 1m"),
    ("flow-interval-format", FLOW_EX, set_path("spec.interval", "6 hours"), "spec.interval", "does not match"),
    (
        "flow-interval-and-schedule",
        FLOW_EX,
        set_path("spec.schedule", "0 * * * *"),
        "spec",
        "exactly one of interval or schedule",
    ),
    ("flow-no-targets", FLOW_EX, set_path("spec.targets", DELETE), "spec", "exactly one of targets or targetsFrom"),
    ("flow-concurrency", FLOW_EX, set_path("spec.concurrency", 0), "spec.concurrency", "at least 1"),
    (
        "flow-http-without-json-source",
        FLOW_EX,
        set_path("spec.http", {"urlTemplate": "https://x.example/{target}"}),
        "spec.http",
        "http is required",
    ),
    (
        "flow-http-json-without-http",
        "scrapeflow-http-json.yaml",
        set_path("spec.http", DELETE),
        "spec.http",
        "http is required",
    ),
    (
        "flow-url-template-placeholder",
        "scrapeflow-http-json.yaml",
        set_path("spec.http.urlTemplate", "https://api.partner.example/all"),
        "spec.http.urlTemplate",
        "must contain {target}",
    ),
    (
        "flow-rate-period",
        FLOW_EX,
        set_path("spec.rateLimit.period", "48h"),
        "spec.rateLimit.period",
        "between 1s and 24h",
    ),
    ("pipeline-schedule", PIPE_EX, set_path("spec.schedule", "every hour"), "spec.schedule", "does not match"),
    ("pipeline-no-steps", PIPE_EX, set_path("spec.steps", []), "spec.steps", "at least 1 item"),
    (
        "pipeline-duplicate-step",
        PIPE_EX,
        set_path("spec.steps.1.name", "models"),
        "spec.steps",
        "step names must be unique",
    ),
    (
        "pipeline-unknown-after",
        PIPE_EX,
        set_path("spec.steps.2.after", ["nope"]),
        "spec.steps",
        "after must name steps",
    ),
    (
        "pipeline-self-after",
        PIPE_EX,
        set_path("spec.steps.0.after", ["models"]),
        "spec.steps[0].after",
        "cannot run after itself",
    ),
    ("pipeline-two-actions", PIPE_EX, set_path("spec.steps.1.dbt", {}), "spec.steps[1]", "exactly one of dbt"),
    (
        "pipeline-cycle",
        PIPE_EX,
        set_path("spec.steps.0.after", ["publish"]),
        "spec.steps[0].after",
        "cycle: models -> publish -> score -> models",
    ),
    ("pipeline-sync-key", PIPE_EX, set_path("spec.steps.2.sync.key", []), "spec.steps[2].sync.key", "at least 1 item"),
    ("pipeline-retries", PIPE_EX, set_path("spec.retries", 11), "spec.retries", "at most 10"),
    ("wrong-api-version", TENANT_EX, set_path("apiVersion", "barista.dev/v1"), "apiVersion", "barista.dev/v1alpha1"),
    ("unknown-kind", TENANT_EX, set_path("kind", "Customer"), "kind", "must be one of"),
]


@pytest.mark.parametrize(
    ("base", "change", "path", "words"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_invalid_resources_are_rejected_at_the_right_field(base, change, path, words):
    issues = validate_object(mutate(base, change))
    assert issues, "expected a validation error"
    matching = [i for i in issues if i.path == path]
    assert matching, f"no issue at {path}: {[str(i) for i in issues]}"
    assert any(words in i.message for i in matching), [str(i) for i in matching]


def test_enough_invalid_cases():
    assert len(INVALID) >= 20


def test_all_problems_are_reported_at_once():
    document = example(TENANT_EX)
    document["metadata"]["name"] = "Bad_Name"
    document["spec"].update(plan="GOLD", displayName="", colour="blue")
    paths = {i.path for i in validate_object(document)}
    assert paths == {"metadata.name", "spec.plan", "spec.displayName", "spec.colour"}


def test_defaults_are_applied_like_the_api_server():
    defaulted = apply_defaults(TENANT, example(TENANT_EX))
    assert defaulted["spec"]["tenancy"] == "pool"
    assert defaulted["spec"]["suspended"] is False
    sink = apply_defaults(
        next(k for k in __import__("barista_operator.api", fromlist=["KINDS"]).KINDS if k.kind == "Sink"),
        example("sink-webhook.yaml"),
    )
    assert sink["spec"]["batch"]["maxBytes"] == 4194304  # nested default inside a defaulted object
    assert sink["spec"]["replicas"] == 1


@pytest.mark.parametrize("value", [None, [], "text", 42])
def test_non_objects_are_rejected(value):
    assert validate_object(value)
