"""Pure builders: every manifest valid Kubernetes (strict, 1.29 and 1.37), hardened, labelled, owned;
each kind's specifics checked against the plan catalogue and the components' own settings contracts."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from barista_core.contracts import GatewaySettings, SinkerSettings, WorkerSettings
from barista_core.errors import ConfigError
from barista_core.naming import DEAD_LETTER_EXCHANGE
from barista_core.plans import Feature, Plan, plan_spec
from barista_operator import labels as L
from barista_operator.api import KINDS_BY_NAME
from barista_operator.api.validation import apply_defaults
from barista_operator.builders import (
    Images,
    Platform,
    ResourceContext,
    TenantContext,
    TenantCredentials,
    TenantInfo,
    build_pipeline,
    build_scrapeflow,
    build_sink,
    build_tenant,
    sink_queues,
    tenant_record,
)
from barista_operator.builders.common import content_hash
from barista_operator.builders.scrapeflow import duration_seconds
from tests.operator.conftest import settings_from_env

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ("1.29.0", "1.37.0")
IMAGES = Images(ingest="reg/ingest:1", worker="reg/worker:1", gateway="reg/gateway:1", scoring="reg/scoring:1")
PLATFORM = Platform(namespace="barista", allowed_namespaces=("monitoring",), images=IMAGES)
BACKENDS = (
    ("postgres", "postgresql://p"),
    ("clickhouse", "clickhouse://c"),
    ("broker", "amqp://b"),
    ("redis", "redis://r"),
)
ACME = TenantInfo(name="acme", plan=Plan.SAAS, retention_days=365, features=frozenset({Feature.WEBHOOKS}))
CREDENTIALS = TenantCredentials.generate()
SECRET_ENV = {f"BARISTA_{b}_URL" for b in ("POSTGRES", "CLICKHOUSE", "BROKER", "REDIS")}


def spec(kind: str, body: dict[str, Any]) -> Any:
    resource = KINDS_BY_NAME[kind]
    document = {"apiVersion": "barista.dev/v1alpha1", "kind": kind, "metadata": {"name": "x"}, "spec": body}
    return resource.spec_model.model_validate(apply_defaults(resource, document)["spec"])


def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "examples" / f"{name}.yaml").read_text())


def tenant_ctx(
    name: str = "acme",
    uid: str | None = "uid-t",
    credentials: TenantCredentials = CREDENTIALS,
    platform: Platform = PLATFORM,
) -> TenantContext:
    return TenantContext(
        name=name, uid=uid, platform=platform, credentials=credentials, backend_urls=BACKENDS, generation=4
    )


def ctx(name: str, tenant: TenantInfo = ACME, uid: str | None = "uid-r") -> ResourceContext:
    return ResourceContext(name=name, namespace=f"tenant-{tenant.name}", uid=uid, tenant=tenant, platform=PLATFORM)


SINK_WEBHOOK = {
    "eventTypes": ["order.*"],
    "webhook": {"url": "https://h.example/x", "secretRef": {"name": "hmac", "key": "k"}},
}


def every_manifest() -> list[tuple[str, dict[str, Any]]]:
    """The examples and the variants the operator can produce, each built as the operator would."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for name in ("tenant-acme", "tenant-globex-silo"):
        doc = example(name)
        out.append((name, build_tenant(spec("Tenant", doc["spec"]), tenant_ctx(doc["metadata"]["name"]))))
    out.append(
        (
            "tenant-silo-suspended",
            build_tenant(
                spec("Tenant", {"displayName": "G", "plan": "PAID", "tenancy": "silo", "suspended": True}), tenant_ctx()
            ),
        )
    )
    builders = {"Sink": build_sink, "ScrapeFlow": build_scrapeflow, "Pipeline": build_pipeline}
    for name in (
        "sink-clickhouse",
        "sink-webhook",
        "scrapeflow-http-json",
        "scrapeflow-instagram",
        "pipeline-leaderboards",
    ):
        doc = example(name)
        out.append((name, builders[doc["kind"]](spec(doc["kind"], doc["spec"]), ctx(doc["metadata"]["name"]))))
    out.append(("sink-paused", build_sink(spec("Sink", {"clickhouse": {}, "paused": True}), ctx("p"))))
    return [(f"{name}:{m['kind']}/{m['metadata']['name']}", m) for name, ms in out for m in ms]


MANIFESTS = every_manifest()
DEPLOYMENTS = [(i, m) for i, m in MANIFESTS if m["kind"] == "Deployment"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_kubernetes_in_strict_mode(version: str) -> None:
    for ident, manifest in MANIFESTS:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{ident} is invalid for {version}: {str(exc).splitlines()[0]}")


@pytest.mark.parametrize(("ident", "deployment"), DEPLOYMENTS, ids=[i for i, _ in DEPLOYMENTS])
def test_pods_are_hardened_and_probed(ident: str, deployment: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == "barista-tenant"
    assert (
        deployment["spec"]["selector"]["matchLabels"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    for container in pod["containers"]:
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsNonRoot"] is True
        assert set(container["resources"]["requests"]) == set(container["resources"]["limits"]) == {"cpu", "memory"}
        ports = {p["name"] for p in container["ports"]}
        for probe in ("livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["port"] in ports
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["image"] in {IMAGES.ingest, IMAGES.worker, IMAGES.gateway, IMAGES.scoring}
        for env in container.get("env", []):
            secret = env["name"] in SECRET_ENV or env["name"].endswith(("_SECRET", "_SIGNING_KEY"))
            assert not (secret and "value" in env), f"{ident}: {env['name']} must come from a Secret"
        for mount in container["volumeMounts"]:
            assert mount["mountPath"] == "/tmp" or mount.get("readOnly") is True


@pytest.mark.parametrize(("ident", "manifest"), MANIFESTS, ids=[i for i, _ in MANIFESTS])
def test_children_are_labelled_owned_and_hashed(ident: str, manifest: dict[str, Any]) -> None:
    meta = manifest["metadata"]
    labels = meta["labels"]
    for key in (L.NAME, L.INSTANCE, L.COMPONENT, L.PART_OF, L.MANAGED_BY, L.TENANT, L.OWNER_KIND, L.OWNER_NAME):
        assert labels.get(key), f"{ident} lacks label {key}"
    assert labels[L.MANAGED_BY] == "barista-operator" and labels[L.PART_OF] == "barista"
    owner = meta["ownerReferences"][0]
    assert owner["apiVersion"] == "barista.dev/v1alpha1" and owner["controller"] is True and owner["uid"]
    assert sum(1 for ref in meta["ownerReferences"] if ref["controller"]) == 1
    if manifest["kind"] != "Namespace":
        assert meta["namespace"].startswith("tenant-")
    annotations = dict(meta["annotations"])
    applied = annotations.pop(L.APPLIED_HASH)
    stripped = json.loads(json.dumps(manifest))
    stripped["metadata"]["annotations"] = annotations
    if not annotations:
        del stripped["metadata"]["annotations"]
    assert applied == content_hash(stripped)


def test_without_a_uid_there_are_no_owner_references() -> None:
    manifests = build_tenant(spec("Tenant", {"displayName": "A", "plan": "FREE"}), tenant_ctx(uid=None))
    assert all("ownerReferences" not in m["metadata"] for m in manifests)


# ---- Tenant -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("plan", ["FREE", "SAAS", "PAID"])
def test_tenant_quota_and_limit_range_come_from_the_plan_catalogue(plan: str) -> None:
    manifests = {m["kind"]: m for m in build_tenant(spec("Tenant", {"displayName": "A", "plan": plan}), tenant_ctx())}
    quota = plan_spec(plan).quota
    assert manifests["ResourceQuota"]["spec"]["hard"] == {
        "requests.cpu": quota.requests_cpu,
        "requests.memory": quota.requests_memory,
        "limits.cpu": quota.limits_cpu,
        "limits.memory": quota.limits_memory,
        "pods": str(quota.pods),
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }
    limits = manifests["LimitRange"]["spec"]["limits"][0]
    assert limits["default"] == {"cpu": quota.default_limit_cpu, "memory": quota.default_limit_memory}
    assert limits["defaultRequest"] == {"cpu": quota.default_request_cpu, "memory": quota.default_request_memory}
    namespace = manifests["Namespace"]["metadata"]
    assert namespace["name"] == "tenant-acme" and namespace["labels"][L.PLAN] == plan
    assert namespace["labels"][L.POD_SECURITY_ENFORCE] == "restricted"


def test_tenant_network_policies_deny_by_default_and_allow_the_platform() -> None:
    policies = {
        m["metadata"]["name"]: m["spec"]
        for m in build_tenant(spec("Tenant", {"displayName": "A", "plan": "SAAS"}), tenant_ctx())
        if m["kind"] == "NetworkPolicy"
    }
    assert policies["barista-default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    allow = policies["barista-allow-platform"]
    sources = allow["ingress"][0]["from"]
    assert {"podSelector": {}} in sources
    assert sources[1]["namespaceSelector"]["matchExpressions"][0]["values"] == ["barista", "monitoring"]
    assert any(p == {"protocol": "UDP", "port": 53} for rule in allow["egress"] for p in rule.get("ports", []))
    assert any("ipBlock" in peer for rule in allow["egress"] for peer in rule["to"])
    closed = Platform(images=IMAGES, internet_egress=False)
    allow = next(
        m
        for m in build_tenant(spec("Tenant", {"displayName": "A", "plan": "SAAS"}), tenant_ctx(platform=closed))
        if m["metadata"]["name"] == "barista-allow-platform"
    )
    assert not any("ipBlock" in peer for rule in allow["spec"]["egress"] for peer in rule["to"])


def test_tenant_credentials_secret_holds_the_key_and_round_trips() -> None:
    secret = next(
        m
        for m in build_tenant(spec("Tenant", {"displayName": "A", "plan": "FREE"}), tenant_ctx())
        if m["metadata"]["name"] == "barista-credentials"
    )
    assert base64.b64decode(secret["data"]["api-key"]).decode() == CREDENTIALS.api_key.token
    assert secret["metadata"]["annotations"][L.API_KEY_ID] == CREDENTIALS.api_key.key_id
    assert TenantCredentials.from_secret(secret) == CREDENTIALS
    assert CREDENTIALS.api_key.secret not in repr(CREDENTIALS) and "BEGIN" not in repr(CREDENTIALS)
    assert TenantCredentials.from_secret({"data": {"api-key": base64.b64encode(b"bk_nope").decode()}}) is None
    assert TenantCredentials.generate() != CREDENTIALS
    backends = next(
        m
        for m in build_tenant(spec("Tenant", {"displayName": "A", "plan": "FREE"}), tenant_ctx())
        if m["metadata"]["name"] == "barista-backends"
    )
    assert base64.b64decode(backends["data"]["broker-url"]).decode() == "amqp://b"


def test_silo_workloads_only_for_silo_and_scaled_to_zero_when_suspended() -> None:
    pool = build_tenant(spec("Tenant", {"displayName": "A", "plan": "PAID"}), tenant_ctx())
    assert not [m for m in pool if m["kind"] in ("Deployment", "Service")]
    silo = build_tenant(spec("Tenant", {"displayName": "A", "plan": "PAID", "tenancy": "silo"}), tenant_ctx())
    deployments = {m["metadata"]["name"]: m for m in silo if m["kind"] == "Deployment"}
    assert set(deployments) == {"barista-gateway", "barista-scoring"}
    assert {m["metadata"]["name"] for m in silo if m["kind"] == "Service"} == set(deployments)
    gateway = deployments["barista-gateway"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in gateway["env"] if "value" in e}
    seen = settings_from_env(
        GatewaySettings,
        env,
        postgres_url="postgresql://p",
        redis_url="redis://r",
        clickhouse_url="clickhouse://c",
        jwt_signing_key=CREDENTIALS.signing_key,
    )
    assert seen.tenant == "acme" and str(seen.routes[0].upstream).startswith("http://barista-scoring.tenant-acme.svc")
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in gateway["env"] if "valueFrom" in e}
    assert refs["BARISTA_JWT_SIGNING_KEY"] == {"name": "barista-credentials", "key": "token-signing-key"}
    assert refs["BARISTA_POSTGRES_URL"] == {"name": "barista-backends", "key": "postgres-url"}
    suspended = build_tenant(
        spec("Tenant", {"displayName": "A", "plan": "PAID", "tenancy": "silo", "suspended": True}), tenant_ctx()
    )
    assert all(m["spec"]["replicas"] == 0 for m in suspended if m["kind"] == "Deployment")


def test_tenant_record_caps_overrides_except_on_paid() -> None:
    saas = tenant_record(
        spec(
            "Tenant",
            {
                "displayName": "A",
                "plan": "SAAS",
                "limits": {"eventsPerSecond": 10**6, "apiRequestsPerMinute": 10},
                "features": {"leaderboards": False, "fakeFollowerScoring": True},
                "suspended": True,
            },
        ),
        tenant_ctx(),
    )
    assert saas.limits.events_per_second == plan_spec("SAAS").limits.events_per_second
    assert saas.limits.api_requests_per_minute == 10
    assert saas.features == frozenset({Feature.DISCOVERY, Feature.WEBHOOKS})
    assert saas.state == "suspended" and saas.generation == 4
    paid = tenant_record(
        spec("Tenant", {"displayName": "A", "plan": "PAID", "limits": {"storageGiB": 5000}}), tenant_ctx()
    )
    assert paid.limits.storage_gib == 5000 and paid.state == "active"


# ---- Sink -------------------------------------------------------------------------------------------------


def _env(deployment: dict[str, Any]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    plain = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    return plain, refs


def test_sinker_environment_is_what_the_sinker_accepts() -> None:
    doc = example("sink-clickhouse")
    deployment = build_sink(spec("Sink", doc["spec"]), ctx("commerce-events"))[0]
    plain, refs = _env(deployment)
    seen = settings_from_env(SinkerSettings, plain, broker_url="amqp://b", clickhouse_url="clickhouse://c")
    assert seen.queue == "sink.acme.commerce-events" and seen.dead_letter_queue == "sink.acme.commerce-events.dead"
    assert seen.event_types == doc["spec"]["eventTypes"] and seen.destination == "clickhouse"
    assert seen.batch_max_events == 5000 and seen.ttl_days == 365
    assert refs == {
        "BARISTA_BROKER_URL": {"name": "barista-backends", "key": "broker-url"},
        "BARISTA_CLICKHOUSE_URL": {"name": "barista-backends", "key": "clickhouse-url"},
    }
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"] == ["sink"]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"] == doc["spec"]["resources"]


def test_webhook_sink_takes_its_secret_by_reference() -> None:
    plain, refs = _env(build_sink(spec("Sink", SINK_WEBHOOK), ctx("hook"))[0])
    assert refs["BARISTA_WEBHOOK_SECRET"] == {"name": "hmac", "key": "k"}
    seen = settings_from_env(SinkerSettings, plain, broker_url="amqp://b", webhook_secret="s")
    assert seen.destination == "webhook" and seen.webhook_url == "https://h.example/x"
    assert "BARISTA_CLICKHOUSE_URL" not in refs


def test_sink_ttl_is_capped_at_retention_and_paused_or_suspended_scales_to_zero() -> None:
    short = TenantInfo(name="acme", plan=Plan.FREE, retention_days=30)
    plain, _ = _env(build_sink(spec("Sink", {"clickhouse": {"ttlDays": 400}}), ctx("s", short))[0])
    assert plain["BARISTA_TTL_DAYS"] == "30"
    plain, _ = _env(build_sink(spec("Sink", {"clickhouse": {"ttlDays": 7}}), ctx("s", short))[0])
    assert plain["BARISTA_TTL_DAYS"] == "7"
    assert build_sink(spec("Sink", {"clickhouse": {}, "paused": True}), ctx("s"))[0]["spec"]["replicas"] == 0
    suspended = TenantInfo(name="acme", plan=Plan.SAAS, suspended=True)
    assert build_sink(spec("Sink", {"clickhouse": {}}), ctx("s", suspended))[0]["spec"]["replicas"] == 0


def test_sink_queue_plan_dead_letters_and_binds_each_pattern_once() -> None:
    plan = sink_queues(spec("Sink", {"clickhouse": {}, "eventTypes": ["order.*", "app.open", "order.*"]}), ctx("s"))
    assert plan.queue.name == "sink.acme.s" and plan.dead_letter.name == "sink.acme.s.dead"
    assert plan.queue.dead_letter_exchange == DEAD_LETTER_EXCHANGE
    assert plan.queue.dead_letter_routing_key == "sink.acme.s.dead"
    assert plan.bindings == ("acme.order.*", "acme.app.open")


def test_sinker_settings_refuse_what_the_sinker_would_refuse() -> None:
    wrong = spec("Sink", {"clickhouse": {}})
    with pytest.raises(ConfigError):
        build_sink(
            wrong, ResourceContext(name="s" * 64, namespace="tenant-acme", uid=None, tenant=ACME, platform=PLATFORM)
        )


# ---- ScrapeFlow ---------------------------------------------------------------------------------------------


def test_scrapeflow_inline_targets_go_to_a_configmap_and_roll_the_workers() -> None:
    doc = example("scrapeflow-instagram")
    config_map, deployment = build_scrapeflow(spec("ScrapeFlow", doc["spec"]), ctx("tracked-creators"))
    text = "".join(f"{t}\n" for t in doc["spec"]["targets"])
    assert config_map["kind"] == "ConfigMap" and config_map["data"] == {"targets.txt": text}
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["annotations"][L.TARGETS_HASH] == content_hash(text)
    plain, refs = _env(deployment)
    seen = settings_from_env(WorkerSettings, plain, broker_url="amqp://b", redis_url="redis://r")
    assert seen.targets_file == "/etc/barista/targets/targets.txt" and seen.interval_seconds == 6 * 3600
    assert seen.rate_limit_requests == 200 and seen.rate_limit_period_seconds == 60 and seen.enrich_categories
    assert refs["BARISTA_REDIS_URL"] == {"name": "barista-backends", "key": "redis-url"}


def test_scrapeflow_references_are_mounted_read_only() -> None:
    doc = example("scrapeflow-http-json")
    (deployment,) = build_scrapeflow(spec("ScrapeFlow", doc["spec"]), ctx("partner-catalogue"))
    pod = deployment["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["targets"]["configMap"] == {
        "name": "partner-stores",
        "items": [{"key": "stores.txt", "path": "targets.txt"}],
    }
    assert volumes["credentials"]["secret"]["secretName"] == "partner-api-token"
    assert all(m["readOnly"] for m in pod["containers"][0]["volumeMounts"] if m["name"] != "tmp")
    plain, _ = _env(deployment)
    seen = settings_from_env(WorkerSettings, plain, broker_url="amqp://b", redis_url="redis://r")
    assert seen.schedule == "30 2 * * *" and seen.credentials_dir == "/etc/barista/credentials"
    assert seen.http_json["urlTemplate"] == doc["spec"]["http"]["urlTemplate"]
    suspended = build_scrapeflow(spec("ScrapeFlow", {**doc["spec"], "suspend": True}), ctx("p"))[-1]
    assert suspended["spec"]["replicas"] == 0


@pytest.mark.parametrize(
    ("text", "seconds"), [("6h", 21600), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400), ("500ms", 0.5)]
)
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


def test_durations_refuse_garbage() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        duration_seconds("6 hours")


# ---- Pipeline -----------------------------------------------------------------------------------------------


def test_pipeline_configmap_holds_the_dag_spec_and_its_hash() -> None:
    doc = example("pipeline-leaderboards")
    (config_map,) = build_pipeline(spec("Pipeline", doc["spec"]), ctx("leaderboards"))
    assert config_map["metadata"]["labels"][L.DAG_SPEC] == "true"
    text = config_map["data"]["dag-spec.json"]
    assert (
        config_map["metadata"]["annotations"][L.CONTENT_HASH] == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    )
    dag = json.loads(text)
    assert dag["dagId"] == "acme__leaderboards" and dag["format"] == "barista.dev/dag-spec/v1"
    assert dag["schedule"] == "0 * * * *" and dag["retries"] == 2 and dag["timeoutMinutes"] == 60
    assert [(s["name"], s["type"], s["after"]) for s in dag["steps"]] == [
        ("models", "dbt", []),
        ("score", "score", ["models"]),
        ("publish", "sync", ["score"]),
    ]
    assert dag["steps"][0]["dbt"]["vars"] == {"lookback_days": 30}
    suspended = TenantInfo(name="acme", plan=Plan.SAAS, suspended=True)
    (paused,) = build_pipeline(spec("Pipeline", doc["spec"]), ctx("leaderboards", suspended))
    assert json.loads(paused["data"]["dag-spec.json"])["paused"] is True
    assert paused["metadata"]["annotations"][L.CONTENT_HASH] != config_map["metadata"]["annotations"][L.CONTENT_HASH]


def test_rendered_environments_equal_the_core_contracts_render_env() -> None:
    from barista_operator.builders.common import render_env

    values = {"tenant": "acme", "sink_name": "s", "queue": "q", "destination": "clickhouse", "batch_max_events": 7}
    secrets = ["broker_url", "clickhouse_url"]
    assert render_env(SinkerSettings, values, secret_fields=secrets) == SinkerSettings.render_env(
        values, secret_fields=secrets
    )
    with pytest.raises(ConfigError, match="BARISTA_BATCH_MAX_EVENTS"):
        render_env(SinkerSettings, {**values, "batch_max_events": 0}, secret_fields=secrets)
