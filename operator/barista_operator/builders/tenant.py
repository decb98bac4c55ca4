"""Tenant → namespace, quota, limit range, network policies, service account, Secrets, silo workloads.

Also the tenant's registry row (:func:`tenant_record`): not a manifest, but derived from the spec the
same pure way.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from barista_core.auth.apikeys import ApiKey, generate_api_key, parse_api_key
from barista_core.contracts import GatewaySettings
from barista_core.naming import tenant_namespace
from barista_core.plans import Feature, Limits, Plan, effective_features, effective_limits, plan_spec
from barista_core.registry import TenantRecord
from barista_operator import labels as L
from barista_operator.api import TenantSpec
from barista_operator.builders.common import (
    BACKEND_KEYS,
    BACKENDS_SECRET,
    CREDENTIALS_API_KEY,
    CREDENTIALS_API_KEY_ID,
    CREDENTIALS_SECRET,
    CREDENTIALS_SIGNING_KEY,
    TENANT_SERVICE_ACCOUNT,
    Manifest,
    Owner,
    Platform,
    b64,
    container_resources,
    deployment,
    env_list,
    metadata,
    probes,
    render_env,
    selector_labels,
    stamp,
)

APP = "barista-tenant"
QUOTA = "barista-quota"
LIMIT_RANGE = "barista-limits"
DEFAULT_DENY = "barista-default-deny"
ALLOW_PLATFORM = "barista-allow-platform"
GATEWAY = "barista-gateway"
SCORING = "barista-scoring"
HTTP_PORT = 8080  # gateway and scoring serve their API and /healthz, /readyz, /metrics here
GATEWAY_REPLICAS = 2
SCORING_REPLICAS = 1
PRIVATE_RANGES_V4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")
PRIVATE_RANGES_V6 = ("fc00::/7", "fe80::/10")


@dataclass(frozen=True, kw_only=True)
class TenantCredentials:
    """The tenant's API key and token-signing key (PEM, EC P-256: what the gateway signs tokens with).
    Generated once; reused from the Secret afterwards."""

    api_key: ApiKey
    signing_key: str

    def __repr__(self) -> str:  # never show the secrets
        return f"TenantCredentials(key_id={self.api_key.key_id!r}, secrets=***)"

    @classmethod
    def generate(cls) -> TenantCredentials:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return cls(api_key=generate_api_key(), signing_key=pem)

    @classmethod
    def from_secret(cls, secret: dict[str, Any]) -> TenantCredentials | None:
        """The credentials stored in a Secret, or None when they are missing or malformed."""
        data = secret.get("data") or {}
        try:
            token = base64.b64decode(data.get(CREDENTIALS_API_KEY, ""), validate=True).decode()
            signing = base64.b64decode(data.get(CREDENTIALS_SIGNING_KEY, ""), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        key = parse_api_key(token)
        if key is None:
            return None
        try:
            serialization.load_pem_private_key(signing.encode(), password=None)
        except (ValueError, TypeError):
            return None
        return cls(api_key=key, signing_key=signing)


@dataclass(frozen=True, kw_only=True)
class TenantContext:
    name: str
    uid: str | None
    platform: Platform
    credentials: TenantCredentials
    #: (backend, URL) copied into the tenant's backends Secret, e.g. ("postgres", "postgresql://…").
    backend_urls: tuple[tuple[str, str], ...] = ()
    generation: int | None = None


def tenant_limits(spec: TenantSpec) -> Limits:
    return effective_limits(spec.plan, spec.limits.to_wire() if spec.limits else None)


def tenant_features(spec: TenantSpec) -> frozenset[Feature]:
    return effective_features(spec.plan, spec.features.to_wire() if spec.features else None)


def tenant_record(spec: TenantSpec, ctx: TenantContext) -> TenantRecord:
    """The registry row for this tenant."""
    return TenantRecord(
        name=ctx.name,
        display_name=spec.display_name,
        plan=Plan(spec.plan),
        tenancy=spec.tenancy,
        limits=tenant_limits(spec),
        features=tenant_features(spec),
        state="suspended" if spec.suspended else "active",
        generation=ctx.generation,
    )


def build_tenant(spec: TenantSpec, ctx: TenantContext) -> list[Manifest]:
    """Every Kubernetes object a Tenant needs, the Namespace first."""
    owner = Owner(kind="Tenant", name=ctx.name, uid=ctx.uid)
    ns = tenant_namespace(ctx.name)

    def meta(name: str, component: str, *, namespace: str | None = ns, **kw: Any) -> dict[str, Any]:
        return metadata(
            name=name, namespace=namespace, owner=owner, tenant=ctx.name, app=APP, component=component, **kw
        )

    plan = plan_spec(spec.plan)
    namespace_meta = meta(
        ns,
        "namespace",
        namespace=None,
        extra_labels={
            L.PLAN: spec.plan,
            L.POD_SECURITY_ENFORCE: L.POD_SECURITY_LEVEL,
            L.POD_SECURITY_WARN: L.POD_SECURITY_LEVEL,
        },
    )
    manifests: list[Manifest] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": namespace_meta},
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": meta(QUOTA, "quota", extra_labels={L.PLAN: spec.plan}),
            "spec": {
                "hard": {
                    "requests.cpu": plan.quota.requests_cpu,
                    "requests.memory": plan.quota.requests_memory,
                    "limits.cpu": plan.quota.limits_cpu,
                    "limits.memory": plan.quota.limits_memory,
                    "pods": str(plan.quota.pods),
                    "services.loadbalancers": "0",
                    "services.nodeports": "0",
                }
            },
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": meta(LIMIT_RANGE, "limits", extra_labels={L.PLAN: spec.plan}),
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": plan.quota.default_limit_cpu, "memory": plan.quota.default_limit_memory},
                        "defaultRequest": {
                            "cpu": plan.quota.default_request_cpu,
                            "memory": plan.quota.default_request_memory,
                        },
                    }
                ]
            },
        },
        *network_policies(ctx.platform, ns, meta),
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta(TENANT_SERVICE_ACCOUNT, "service-account"),
            "automountServiceAccountToken": False,
        },
        credentials_secret(ctx, meta(CREDENTIALS_SECRET, "credentials")),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta(BACKENDS_SECRET, "backends"),
            "type": "Opaque",
            "data": {BACKEND_KEYS[backend]: b64(url) for backend, url in ctx.backend_urls},
        },
    ]
    if spec.tenancy == "silo":
        manifests += silo_workloads(spec, ctx, ns, owner)
    return stamp(manifests)


def credentials_secret(ctx: TenantContext, meta: dict[str, Any]) -> Manifest:
    key = ctx.credentials.api_key
    meta = {**meta, "annotations": {L.API_KEY_ID: key.key_id}}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "data": {
            CREDENTIALS_API_KEY: b64(key.token),
            CREDENTIALS_API_KEY_ID: b64(key.key_id),
            CREDENTIALS_SIGNING_KEY: b64(ctx.credentials.signing_key),
        },
    }


def network_policies(platform: Platform, ns: str, meta: Any) -> list[Manifest]:
    """Deny everything, then allow: same namespace, the platform (and listed namespaces) in, DNS and the
    platform out, and the public internet out (webhooks, scraped sites) unless switched off."""
    ingress_namespaces = sorted({platform.namespace, *platform.allowed_namespaces})
    egress: list[dict[str, Any]] = [
        {
            "to": [
                {"podSelector": {}},
                {"namespaceSelector": {"matchLabels": {L.NAMESPACE_NAME: platform.namespace}}},
            ]
        },
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {L.NAMESPACE_NAME: "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
    ]
    if platform.internet_egress:
        egress.append(
            {
                "to": [
                    {"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES_V4)}},
                    {"ipBlock": {"cidr": "::/0", "except": list(PRIVATE_RANGES_V6)}},
                ]
            }
        )
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta(DEFAULT_DENY, "network-policy"),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta(ALLOW_PLATFORM, "network-policy"),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [
                            {"podSelector": {}},
                            {
                                "namespaceSelector": {
                                    "matchExpressions": [
                                        {"key": L.NAMESPACE_NAME, "operator": "In", "values": ingress_namespaces}
                                    ]
                                }
                            },
                        ]
                    }
                ],
                "egress": egress,
            },
        },
    ]


def gateway_env(ctx: TenantContext, ns: str) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """The silo gateway's environment, validated by :class:`GatewaySettings` as the gateway will at start-up:
    pinned to this tenant, signing with the tenant's key, proxying scoring to the tenant's own scoring."""
    backends = {backend for backend, _ in ctx.backend_urls}
    values: dict[str, Any] = {
        "tenant": ctx.name,
        "port": HTTP_PORT,
        "log_format": "json",
        "routes": [
            {
                "prefix": "/v1/score",
                "upstream": f"http://{SCORING}.{ns}.svc",
                "feature": "fakeFollowerScoring",
            }
        ],
    }
    secret_fields = ["postgres_url", "redis_url", "clickhouse_url", "jwt_signing_key"]
    secret_env = {
        GatewaySettings.env_name(f"{backend}_url"): (BACKENDS_SECRET, BACKEND_KEYS[backend])
        for backend in ("postgres", "redis", "clickhouse", "broker")
        if backend in backends
    }
    if "broker" in backends:
        secret_fields.append("broker_url")
    secret_env[GatewaySettings.env_name("jwt_signing_key")] = (CREDENTIALS_SECRET, CREDENTIALS_SIGNING_KEY)
    return render_env(GatewaySettings, values, secret_fields=secret_fields), secret_env


def silo_workloads(spec: TenantSpec, ctx: TenantContext, ns: str, owner: Owner) -> list[Manifest]:
    """Dedicated gateway and scoring Deployments + Services (silo tenancy, PAID only)."""
    images = ctx.platform.images
    gateway_plain, gateway_secrets = gateway_env(ctx, ns)
    workloads = [
        (GATEWAY, "gateway", images.gateway, GATEWAY_REPLICAS, gateway_plain, gateway_secrets),
        (SCORING, "scoring", images.scoring, SCORING_REPLICAS, {"BARISTA_LOG_FORMAT": "json"}, {}),
    ]
    out: list[Manifest] = []
    for name, component, image, replicas, plain, secret_env in workloads:
        meta = metadata(name=name, namespace=ns, owner=owner, tenant=ctx.name, app=name, component=component)
        container = {
            "name": component,
            "image": image,
            "imagePullPolicy": images.pull_policy,
            "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
            "env": env_list(plain, secret_env),
            "resources": container_resources(spec.plan, None),
            **probes("http"),
        }
        out.append(deployment(meta=meta, app=name, replicas=0 if spec.suspended else replicas, container=container))
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": metadata(
                    name=name, namespace=ns, owner=owner, tenant=ctx.name, app=name, component=component
                ),
                "spec": {
                    "type": "ClusterIP",
                    "selector": selector_labels(name, ctx.name),
                    "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
                },
            }
        )
    return out
