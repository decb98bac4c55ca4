"""What each template renders for the values that steer it (one class per template area)."""

from __future__ import annotations

import base64
import importlib.util
import subprocess
import sys
import types
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jmespath
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

CHART = Path(__file__).resolve().parents[2] / "charts" / "barista"
NS = "barista"


def secret_value(secret: dict[str, Any], key: str) -> str:
    return base64.b64decode(secret["data"][key]).decode()


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def secret_ref(env: dict[str, Any]) -> tuple[str, str]:
    ref = env["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"]


def main_container(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]["containers"][0]


class TestConfigMap:
    def test_log_settings_and_service_addresses(self, chart) -> None:
        cm = chart.one(chart.render_chart(), "ConfigMap", "barista-config")
        assert cm["data"]["BARISTA_LOG_LEVEL"] == "INFO"
        assert cm["data"]["BARISTA_LOG_FORMAT"] == "json"
        assert cm["data"]["BARISTA_SCORING_URL"] == f"http://barista-scoring.{NS}.svc.cluster.local:80"
        assert cm["data"]["BARISTA_INGEST_GRPC_TARGET"] == f"barista-ingest.{NS}.svc.cluster.local:50051"

    def test_every_barista_container_reads_it(self, chart) -> None:
        objects = chart.render_chart()
        for name in ("operator", "gateway", "ingest", "scoring", "airflow-scheduler"):
            container = main_container(chart.one(objects, "Deployment", f"barista-{name}"))
            assert jmespath.search("envFrom[].configMapRef.name", container) == ["barista-config"]

    def test_component_log_level_overrides(self, chart) -> None:
        objects = chart.render_chart({"gateway": {"logLevel": "DEBUG"}, "operator": {"logLevel": "WARNING"}})
        gateway = env_of(main_container(chart.one(objects, "Deployment", "barista-gateway")))
        operator = env_of(main_container(chart.one(objects, "Deployment", "barista-operator")))
        assert gateway["BARISTA_LOG_LEVEL"]["value"] == "DEBUG"
        assert operator["BARISTA_OPERATOR_LOG_LEVEL"]["value"] == "WARNING"


class TestOperator:
    def test_environment(self, chart) -> None:
        objects = chart.render_chart({"global": {"imageRegistry": "mirror.example.com"}})
        env = env_of(main_container(chart.one(objects, "Deployment", "barista-operator")))
        assert env["BARISTA_OPERATOR_STANDALONE"]["value"] == "false"
        assert env["BARISTA_OPERATOR_PEERING_NAME"]["value"] == "barista"
        assert env["POD_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        assert env["BARISTA_OPERATOR_PLATFORM_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
        for component in ("ingest", "worker", "gateway", "scoring"):
            image = env[f"BARISTA_OPERATOR_{component.upper()}_IMAGE"]["value"]
            assert image == f"mirror.example.com/barista/{component}:0.1.0"
        for backend, key in (
            ("POSTGRES", "postgresql"),
            ("REDIS", "redis"),
            ("BROKER", "rabbitmq"),
            ("CLICKHOUSE", "clickhouse"),
        ):
            assert secret_ref(env[f"BARISTA_OPERATOR_{backend}_URL"]) == (f"barista-{key}", "url")
            assert f"BARISTA_{backend}_URL" not in env  # the operator's settings use its own prefix

    def test_backends_without_url_are_disabled(self, chart) -> None:
        objects = chart.render_chart({"operator": {"backends": ["redis", "broker"]}})
        env = env_of(main_container(chart.one(objects, "Deployment", "barista-operator")))
        assert env["BARISTA_OPERATOR_DISABLED_BACKENDS"]["value"] == '["clickhouse","registry"]'
        default = env_of(main_container(chart.one(chart.render_chart(), "Deployment", "barista-operator")))
        assert "BARISTA_OPERATOR_DISABLED_BACKENDS" not in default

    @pytest.mark.parametrize("profile_name", ["default", "dev", "production", "ci-operator-only"])
    def test_operator_settings_accept_the_environment(self, chart, monkeypatch, profile_name: str) -> None:
        """The operator's own settings class loads the environment the chart renders for it."""
        from barista_operator.settings import OperatorSettings

        objects = chart.render_chart(profile=profile_name)
        load_environment(chart, objects, chart.one(objects, "Deployment", "barista-operator"), monkeypatch)
        settings = OperatorSettings.load()
        assert settings.peering_name == "barista" and settings.probe_port == 8080
        assert settings.image("worker").split("/barista/")[1].startswith("worker")

    def test_cluster_role_is_the_rules_file(self, chart) -> None:
        role = chart.one(chart.render_chart(), "ClusterRole", "barista-operator")
        assert role["rules"] == yaml.safe_load((CHART / "files" / "operator-rbac-rules.yaml").read_text())
        binding = chart.one(chart.render_chart(), "ClusterRoleBinding", "barista-operator")
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "barista-operator", "namespace": NS}]

    def test_rules_are_the_operators_own_and_cover_what_kopf_needs(self, chart) -> None:
        """The chart renders exactly the operator's rules file; tests/operator/test_rbac.py checks that file
        against every request the operator makes. Here: what kopf itself cannot run without."""
        from barista_operator.api import GROUP, KINDS
        from barista_operator.rbac import Access, allowed, parse_rules

        rules = chart.one(chart.render_chart(), "ClusterRole", "barista-operator")["rules"]
        rules_file = Path(__file__).resolve().parents[2] / "charts/barista/files/operator-rbac-rules.yaml"
        assert rules == parse_rules(rules_file.read_text())
        for kind in KINDS:
            for verb in ("list", "watch"):
                assert allowed(Access(verb, GROUP, kind.plural), rules), (kind.plural, verb)
            assert allowed(Access("patch", GROUP, f"{kind.plural}/status"), rules), kind.plural
        for verb in ("list", "watch"):
            assert allowed(Access(verb, "apiextensions.k8s.io", "customresourcedefinitions"), rules)
        assert allowed(Access("create", "", "events"), rules)
        for verb in ("list", "watch", "patch"):
            assert allowed(Access(verb, "kopf.dev", "clusterkopfpeerings"), rules)

    def test_peering_crds_and_object(self, chart) -> None:
        objects = chart.render_chart(include_crds=True)
        assert {c["metadata"]["name"] for c in chart.find(objects, "CustomResourceDefinition")} >= {
            "clusterkopfpeerings.kopf.dev",
            "kopfpeerings.kopf.dev",
        }
        peering = chart.one(objects, "ClusterKopfPeering", "barista")
        assert peering["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"

    def test_standalone_has_no_peering(self, chart) -> None:
        objects = chart.render_chart({"operator": {"standalone": True}}, include_crds=True)
        assert not chart.find(objects, "ClusterKopfPeering")
        assert not [c for c in chart.find(objects, "CustomResourceDefinition") if "kopf.dev" in c["metadata"]["name"]]
        deployment = chart.one(objects, "Deployment", "barista-operator")
        assert deployment["spec"]["strategy"]["type"] == "Recreate"
        assert env_of(main_container(deployment))["BARISTA_OPERATOR_STANDALONE"]["value"] == "true"

    def test_peering_crds_can_be_left_to_others(self, chart) -> None:
        objects = chart.render_chart({"operator": {"peering": {"installCRDs": False}}}, include_crds=True)
        assert not [c for c in chart.find(objects, "CustomResourceDefinition") if "kopf.dev" in c["metadata"]["name"]]
        assert chart.find(objects, "ClusterKopfPeering")

    def test_only_the_operator_talks_to_the_api(self, chart) -> None:
        objects = chart.render_chart({"airflow": {"rbac": {"readPipelineSpecs": False}}})
        mounting = [
            o["metadata"]["name"]
            for o in objects
            if o["kind"] in chart.WORKLOAD_KINDS and chart.pod_spec(o)["automountServiceAccountToken"]
        ]
        assert mounting == ["barista-operator"]


class TestGateway:
    def test_signing_key_is_a_generated_p256_key_in_a_secret(self, chart) -> None:
        objects = chart.render_chart()
        env = env_of(main_container(chart.one(objects, "Deployment", "barista-gateway")))
        name, key = secret_ref(env["BARISTA_JWT_SIGNING_KEY"])
        assert "BARISTA_GATEWAY_SIGNING_KEYS" not in env  # one name for one setting
        pem = secret_value(chart.one(objects, "Secret", name), key)
        private = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(private.curve, ec.SECP256R1)

    def test_signing_key_from_an_existing_secret(self, chart) -> None:
        objects = chart.render_chart({"gateway": {"auth": {"existingSecret": "jwt", "existingSecretKey": "pem"}}})
        env = env_of(main_container(chart.one(objects, "Deployment", "barista-gateway")))
        assert secret_ref(env["BARISTA_JWT_SIGNING_KEY"]) == ("jwt", "pem")
        assert not chart.find(objects, "Secret", "barista-gateway")

    def test_score_is_routed_to_the_release_scoring_service_behind_its_plan_feature(self, chart) -> None:
        import json

        def routes(values: dict[str, Any]) -> list[dict[str, Any]]:
            deployment = chart.one(chart.render_chart(values), "Deployment", "barista-gateway")
            env = env_of(main_container(deployment))
            return json.loads(env["BARISTA_ROUTES"]["value"]) if "BARISTA_ROUTES" in env else []

        scoring = {"prefix": "/v1/score", "feature": "fakeFollowerScoring"}
        assert routes({}) == [scoring | {"upstream": f"http://barista-scoring.{NS}.svc.cluster.local:80"}]
        assert routes({"scoring": {"enabled": False}}) == []
        assert routes({"gateway": {"routeScoring": False}}) == []
        own = {"prefix": "/v1/score/", "upstream": "http://elsewhere:8080"}
        assert routes({"gateway": {"routes": [own]}}) == [own]  # the user's own /v1/score route wins
        other = {"prefix": "/v1/other", "upstream": "http://other:8080"}
        assert [r["prefix"] for r in routes({"gateway": {"routes": [other]}})] == ["/v1/score", "/v1/other"]

    @pytest.mark.parametrize("profile_name", ["default", "dev", "production", "ci-external-urls"])
    def test_gateway_settings_accept_the_environment(self, chart, monkeypatch, profile_name: str) -> None:
        from barista_core.contracts.gateway import GatewaySettings

        objects = chart.render_chart(profile=profile_name)
        load_environment(chart, objects, chart.one(objects, "Deployment", "barista-gateway"), monkeypatch)
        settings = GatewaySettings.load()
        assert settings.port == 8080 and settings.jwt_signing_key is not None
        if profile_name == "ci-external-urls":
            assert [str(r.upstream) for r in settings.routes] == ["http://barista-scoring.barista.svc/"]

    def test_ingress(self, chart) -> None:
        assert not chart.find(chart.render_chart(), "Ingress")
        values = {
            "gateway": {"ingress": {"enabled": True, "className": "nginx", "host": "api.example.com", "tls": True}}
        }
        ingress = chart.one(chart.render_chart(values), "Ingress", "barista-gateway")
        assert ingress["spec"]["ingressClassName"] == "nginx"
        assert ingress["spec"]["tls"] == [{"hosts": ["api.example.com"], "secretName": "barista-gateway-tls"}]
        rule = ingress["spec"]["rules"][0]
        assert rule["host"] == "api.example.com"
        assert jmespath.search("http.paths[0].backend.service", rule) == {
            "name": "barista-gateway",
            "port": {"name": "http"},
        }

    def test_autoscaling_replaces_replicas(self, chart) -> None:
        objects = chart.render_chart(
            {"gateway": {"autoscaling": {"enabled": True, "targetMemoryUtilizationPercentage": 80}}}
        )
        hpa = chart.one(objects, "HorizontalPodAutoscaler", "barista-gateway")
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
        assert jmespath.search("spec.metrics[].resource.name", hpa) == ["cpu", "memory"]
        assert "replicas" not in chart.one(objects, "Deployment", "barista-gateway")["spec"]
        plain = chart.one(chart.render_chart({"gateway": {"replicaCount": 3}}), "Deployment", "barista-gateway")
        assert plain["spec"]["replicas"] == 3

    def test_disruption_budget(self, chart) -> None:
        pdb = chart.one(
            chart.render_chart({"gateway": {"pdb": {"create": True, "minAvailable": "50%"}}}),
            "PodDisruptionBudget",
            "barista-gateway",
        )
        assert pdb["spec"] == {
            "minAvailable": "50%",
            "selector": {
                "matchLabels": {
                    "app.kubernetes.io/name": "barista",
                    "app.kubernetes.io/instance": "barista",
                    "app.kubernetes.io/component": "gateway",
                }
            },
        }

    def test_backends_it_gets(self, chart) -> None:
        env = env_of(main_container(chart.one(chart.render_chart(), "Deployment", "barista-gateway")))
        assert {n for n in env if n.endswith("_URL")} == {
            "BARISTA_POSTGRES_URL",
            "BARISTA_REDIS_URL",
            "BARISTA_BROKER_URL",
            "BARISTA_CLICKHOUSE_URL",
        }


FAKE_SECRETS = {
    "POSTGRES": "postgresql://u:p@db:5432/barista",
    "REDIS": "redis://:p@redis:6379/0",
    "BROKER": "amqp://u:p@mq:5672/%2F",
    "CLICKHOUSE": "clickhouse://u:p@ch:8123/default",
}


def load_environment(chart, objects: list[dict[str, Any]], workload: dict[str, Any], monkeypatch) -> None:
    """Put a container's environment, as the chart renders it, into os.environ (Secrets faked)."""
    import os

    for name in list(os.environ):
        if name.startswith("BARISTA_"):
            monkeypatch.delenv(name)
    container = main_container(workload)
    for source in container.get("envFrom", []):
        for key, value in chart.one(objects, "ConfigMap", source["configMapRef"]["name"])["data"].items():
            monkeypatch.setenv(key, value)
    for env in container.get("env", []):
        if "value" in env:
            monkeypatch.setenv(env["name"], env["value"])
        elif "fieldRef" in env["valueFrom"]:
            monkeypatch.setenv(env["name"], "barista")
        elif env["name"] == "BARISTA_JWT_SIGNING_KEY":
            ref = env["valueFrom"]["secretKeyRef"]
            rendered = chart.find(objects, "Secret", ref["name"])
            pem = secret_value(rendered[0], ref["key"]) if rendered else "-----BEGIN PRIVATE KEY-----"
            monkeypatch.setenv(env["name"], pem)
        else:
            backend = next((k for k in FAKE_SECRETS if f"_{k}_URL" in env["name"]), None)
            monkeypatch.setenv(env["name"], FAKE_SECRETS[backend] if backend else "from-a-secret")


class TestIngestAndScoring:
    @pytest.mark.parametrize("profile_name", ["default", "dev", "production"])
    def test_ingest_settings_accept_the_environment(self, chart, monkeypatch, profile_name: str) -> None:
        from barista_core.contracts import IngestSettings

        objects = chart.render_chart(profile=profile_name)
        load_environment(chart, objects, chart.one(objects, "Deployment", "barista-ingest"), monkeypatch)
        settings = IngestSettings.load()
        assert (settings.grpc_port, settings.probe_port) == (50051, 8081)

    def test_ingest_serves_grpc_and_probes(self, chart) -> None:
        objects = chart.render_chart()
        container = main_container(chart.one(objects, "Deployment", "barista-ingest"))
        assert container["args"] == ["serve"]
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"grpc": 50051, "http-probe": 8081}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http-probe"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http-probe"}
        service = chart.one(objects, "Service", "barista-ingest")
        assert jmespath.search("spec.ports[?name=='grpc'].appProtocol", service) == ["grpc"]
        assert {n for n in env_of(container) if n.endswith("_URL")} == {
            "BARISTA_POSTGRES_URL",
            "BARISTA_REDIS_URL",
            "BARISTA_BROKER_URL",
        }

    def test_scoring_is_stateless_by_default(self, chart) -> None:
        container = main_container(chart.one(chart.render_chart(), "Deployment", "barista-scoring"))
        assert "env" not in container
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}

    def test_components_can_be_disabled(self, chart) -> None:
        objects = chart.render_chart({"gateway": {"enabled": False}, "ingest": {"enabled": False}})
        assert not [
            o for o in objects if o["metadata"]["labels"].get("app.kubernetes.io/component") in ("gateway", "ingest")
        ]
        assert "BARISTA_INGEST_GRPC_TARGET" not in chart.one(objects, "ConfigMap", "barista-config")["data"]


class TestBackends:
    def test_urls_carry_the_generated_or_given_credentials(self, chart) -> None:
        objects = chart.render_chart({"postgresql": {"auth": {"password": "p@ss:w/rd"}}})
        secret = chart.one(objects, "Secret", "barista-postgresql")
        url = urlsplit(secret_value(secret, "url"))
        assert (url.scheme, url.username, unquote(url.password or "")) == ("postgresql", "barista", "p@ss:w/rd")
        assert (url.hostname, url.port, url.path) == (f"barista-postgresql.{NS}.svc.cluster.local", 5432, "/barista")
        assert urlsplit(secret_value(secret, "airflow-url")).scheme == "postgresql+psycopg"
        for name, scheme, port in (
            ("redis", "redis", 6379),
            ("rabbitmq", "amqp", 5672),
            ("clickhouse", "clickhouse", 8123),
        ):
            generated = chart.one(objects, "Secret", f"barista-{name}")
            url = urlsplit(secret_value(generated, "url"))
            assert (url.scheme, url.port) == (scheme, port)
            assert unquote(url.password or "") == secret_value(generated, "password")
            assert len(secret_value(generated, "password")) == 24

    def test_server_configs_hold_the_same_password(self, chart) -> None:
        objects = chart.render_chart(
            {
                "redis": {"auth": {"password": "r1"}},
                "rabbitmq": {"auth": {"password": "q1"}},
                "clickhouse": {"auth": {"password": "c1"}},
            }
        )
        assert 'requirepass "r1"' in secret_value(chart.one(objects, "Secret", "barista-redis"), "redis.conf")
        assert "default_pass = q1" in secret_value(chart.one(objects, "Secret", "barista-rabbitmq"), "barista.conf")
        users = secret_value(chart.one(objects, "Secret", "barista-clickhouse"), "barista-users.xml")
        import hashlib

        assert hashlib.sha256(b"c1").hexdigest() in users and ">c1<" not in users

    def test_external_url_is_stored_in_a_secret(self, chart) -> None:
        objects = chart.render_chart(profile="ci-external-urls")
        assert not chart.find(objects, "StatefulSet")
        secret = chart.one(objects, "Secret", "barista-redis")
        assert secret["data"].keys() == {"url"} and secret_value(secret, "url").startswith("rediss://")
        env = env_of(main_container(chart.one(objects, "Deployment", "barista-ingest")))
        assert secret_ref(env["BARISTA_REDIS_URL"]) == ("barista-redis", "url")

    def test_existing_secrets_are_referenced(self, chart) -> None:
        objects = chart.render_chart(profile="production")
        env = env_of(main_container(chart.one(objects, "Deployment", "barista-gateway")))
        assert secret_ref(env["BARISTA_CLICKHOUSE_URL"]) == ("barista-clickhouse", "url")
        assert not chart.find(objects, "Secret", "barista-clickhouse")  # the user's, not the chart's

    def test_storage(self, chart) -> None:
        statefulset = chart.one(chart.render_chart(), "StatefulSet", "barista-clickhouse")
        assert statefulset["spec"]["persistentVolumeClaimRetentionPolicy"] == {
            "whenDeleted": "Retain",
            "whenScaled": "Retain",
        }
        assert jmespath.search("spec.volumeClaimTemplates[0].spec.resources.requests.storage", statefulset) == "20Gi"
        ephemeral = chart.one(chart.render_chart(profile="ci-ephemeral"), "StatefulSet", "barista-clickhouse")
        assert "volumeClaimTemplates" not in ephemeral["spec"]
        assert {"name": "data", "emptyDir": {}} in ephemeral["spec"]["template"]["spec"]["volumes"]

    def test_postgres_creates_the_airflow_database_only_with_airflow(self, chart) -> None:
        assert chart.find(chart.render_chart(), "ConfigMap", "barista-postgresql-initdb")
        objects = chart.render_chart({"airflow": {"enabled": False}})
        assert not chart.find(objects, "ConfigMap", "barista-postgresql-initdb")
        assert "airflow-url" not in chart.one(objects, "Secret", "barista-postgresql")["data"]


class TestAirflow:
    def test_disabled_renders_nothing_of_it(self, chart) -> None:
        objects = chart.render_chart({"airflow": {"enabled": False}})
        assert not [o for o in objects if "airflow" in o["metadata"]["name"]]

    def test_migration_job_and_waiting_pods(self, chart) -> None:
        objects = chart.render_chart()
        job = chart.one(objects, "Job", "barista-airflow-migrate-1")
        assert main_container(job)["args"] == ["db", "migrate"]
        for name in ("api-server", "scheduler", "dag-processor"):
            deployment = chart.one(objects, "Deployment", f"barista-airflow-{name}")
            init = deployment["spec"]["template"]["spec"]["initContainers"]
            assert init[0]["args"][:2] == ["db", "check-migrations"]
            assert main_container(deployment)["args"] == [name]

    @pytest.mark.parametrize(
        ("values", "expected"),
        [
            ({}, ("barista-postgresql", "airflow-url")),
            (
                {"airflow": {"database": {"url": "postgresql+psycopg://a:b@db/airflow"}}},
                ("barista-airflow", "database-url"),
            ),
            ({"airflow": {"database": {"existingSecret": "af-db", "existingSecretKey": "dsn"}}}, ("af-db", "dsn")),
        ],
        ids=["chart-postgres", "url", "existing-secret"],
    )
    def test_metadata_database(self, chart, values: dict[str, Any], expected: tuple[str, str]) -> None:
        objects = chart.render_chart(values)
        env = env_of(main_container(chart.one(objects, "Deployment", "barista-airflow-scheduler")))
        assert secret_ref(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]) == expected

    def test_generated_keys(self, chart) -> None:
        secret = chart.one(chart.render_chart(), "Secret", "barista-airflow")
        fernet = secret_value(secret, "fernet-key")
        assert len(base64.urlsafe_b64decode(fernet)) == 32
        assert {"api-secret-key", "jwt-secret"} <= secret["data"].keys()

    def test_execution_api_and_dag_folder(self, chart) -> None:
        objects = chart.render_chart()
        env = env_of(main_container(chart.one(objects, "Deployment", "barista-airflow-scheduler")))
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]["value"] == (
            f"http://barista-airflow-api-server.{NS}.svc.cluster.local:8080/execution/"
        )
        assert env["AIRFLOW__CORE__EXECUTOR"]["value"] == "LocalExecutor"
        dags = chart.one(objects, "ConfigMap", "barista-airflow-dags")
        assert dags["data"]["barista_dags.py"] == (CHART / "files" / "airflow" / "barista_dags.py").read_text()

    def test_pipeline_spec_reader_rbac(self, chart) -> None:
        role = chart.one(chart.render_chart(), "ClusterRole", "barista-airflow-pipeline-specs")
        assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
        objects = chart.render_chart({"airflow": {"rbac": {"readPipelineSpecs": False}}})
        assert not chart.find(objects, "ClusterRole", "barista-airflow-pipeline-specs")

    def test_dag_file_hands_the_factorys_dags_to_airflow(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """The mounted DAG file exports every DAG the factory module defines, nothing else."""
        airflow = importlib.util.find_spec("airflow")  # locates the package without importing it
        assert airflow and airflow.submodule_search_locations
        sdk = [Path(p) / "sdk" / "__init__.py" for p in airflow.submodule_search_locations]
        assert any(f.exists() and '"DAG"' in f.read_text() for f in sdk), "airflow.sdk no longer exports DAG"

        class DAG:  # stands in for airflow.sdk.DAG so the test need not import Airflow (8 s)
            def __init__(self, dag_id: str) -> None:
                self.dag_id = dag_id

        factory = types.ModuleType("fake_factory")
        factory.leaderboards = DAG("leaderboards")  # type: ignore[attr-defined]
        factory.helper = object()  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "airflow.sdk", types.SimpleNamespace(DAG=DAG))
        monkeypatch.setitem(sys.modules, "fake_factory", factory)
        monkeypatch.setenv("BARISTA_PIPELINES_DAG_MODULE", "fake_factory")
        namespace: dict[str, Any] = {"__name__": "barista_dags"}
        code = compile((CHART / "files" / "airflow" / "barista_dags.py").read_text(), "barista_dags.py", "exec")
        exec(code, namespace)  # noqa: S102 - the chart's own DAG file
        dags = {k: v for k, v in namespace.items() if isinstance(v, DAG)}
        assert list(dags) == ["leaderboards"] and "helper" not in namespace


class TestProfiles:
    def test_production_runs_everything_twice_with_budgets_and_anti_affinity(self, chart) -> None:
        objects = chart.render_chart(profile="production")
        hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in chart.find(objects, "HorizontalPodAutoscaler")}
        budgets = chart.find(objects, "PodDisruptionBudget")
        for component in ("operator", "gateway", "ingest", "scoring"):
            deployment = chart.one(objects, "Deployment", f"barista-{component}")
            replicas = deployment["spec"].get("replicas") or hpas[deployment["metadata"]["name"]]["spec"]["minReplicas"]
            assert replicas >= 2, component
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            assert [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()], component
            assert jmespath.search("spec.template.spec.affinity.podAntiAffinity", deployment), component
        assert not chart.find(objects, "StatefulSet"), "production uses external backends"
        assert chart.one(objects, "Ingress", "barista-gateway")["spec"]["tls"]

    def test_dev_runs_everything_from_the_local_registry(self, chart) -> None:
        objects = chart.render_chart(profile="dev")
        assert len(chart.find(objects, "StatefulSet")) == 4
        images = {c["image"] for o in objects if o["kind"] in chart.WORKLOAD_KINDS for c in chart.containers(o)}
        barista = {i for i in images if "/barista/" in i}
        assert barista and all(i.startswith("localhost:5001/barista/") and i.endswith(":dev") for i in barista)
        assert secret_value(chart.one(objects, "Secret", "barista-postgresql"), "password") == "barista-dev"

    def test_common_labels_annotations_and_registry(self, chart) -> None:
        objects = chart.render_chart(profile="ci-external-urls")
        for obj in objects:
            assert obj["metadata"]["labels"]["team"] == "analytics", chart.object_id(obj)
            assert obj["metadata"].get("annotations", {}).get("owner") == "platform", chart.object_id(obj)
        for obj in objects:
            if obj["kind"] in chart.WORKLOAD_KINDS:
                assert chart.pod_spec(obj)["imagePullSecrets"] == [{"name": "regcred"}]
                assert all(c["image"].startswith("registry.example.com/") for c in chart.containers(obj))
        operator = main_container(chart.one(objects, "Deployment", "barista-operator"))
        assert operator["image"].endswith("@sha256:" + "0123456789abcdef" * 4)

    def test_fullname_override(self, chart) -> None:
        objects = chart.render_chart({"fullnameOverride": "coffee"})
        assert chart.one(objects, "Deployment", "coffee-gateway")
        fixed = {"CustomResourceDefinition", "ClusterKopfPeering"}  # names other software relies on
        assert all(o["metadata"]["name"].startswith("coffee-") for o in objects if o["kind"] not in fixed)


class TestNotes:
    def test_notes_name_rendered_services(self, chart) -> None:
        result = subprocess.run(
            [str(chart.ROOT / ".tools" / "helm"), "install", "barista", str(CHART), "--dry-run=client", "-n", NS],
            capture_output=True,
            text=True,
            timeout=120,
            env={"KUBECONFIG": "/nonexistent", "PATH": "/usr/bin:/bin"},
        )
        assert result.returncode == 0, result.stderr
        notes = result.stdout.split("NOTES:", 1)[1]
        services = {s["metadata"]["name"] for s in chart.find(chart.render_chart(), "Service")}
        mentioned = {word.removeprefix("svc/") for word in notes.split() if word.startswith("svc/")}
        assert mentioned and mentioned <= services
        assert "kubectl apply --server-side -f charts/barista/crds/" in notes
        assert "development backends (postgresql, redis, rabbitmq, clickhouse)" in notes
