"""What every builder shares: context types, metadata, pod hardening, probes, resources, hashing.

Builders are pure: typed spec + one frozen keyword-only context → plain manifest dicts. No kopf, no
client, no environment; everything they need arrives in the context.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from barista_core.errors import ConfigError
from barista_core.plans import Feature, Plan, plan_spec
from barista_core.settings import describe_settings_error
from barista_operator import labels as L
from barista_operator.api import API_VERSION
from barista_operator.api.meta import Resources

Manifest = dict[str, Any]

#: Secret in every tenant namespace with the backend URLs tenant workloads use (copied by the operator:
#: a pod can only reference Secrets of its own namespace).
BACKENDS_SECRET = "barista-backends"  # noqa: S105 (a Secret's name, not a secret)
BACKEND_KEYS = {
    "postgres": "postgres-url",
    "clickhouse": "clickhouse-url",
    "broker": "broker-url",
    "redis": "redis-url",
}
#: Secret in every tenant namespace with the tenant's API key and token-signing key.
CREDENTIALS_SECRET = "barista-credentials"  # noqa: S105 (a Secret's name, not a secret)
CREDENTIALS_API_KEY = "api-key"
CREDENTIALS_API_KEY_ID = "api-key-id"
CREDENTIALS_SIGNING_KEY = "token-signing-key"
#: ServiceAccount the tenant's pods run as (no API access, no token mounted).
TENANT_SERVICE_ACCOUNT = "barista-tenant"

PROBE_PORT = 8081  # ComponentSettings.probe_port: /healthz, /readyz, /metrics
RUN_AS = 10001


@dataclass(frozen=True, kw_only=True)
class Images:
    ingest: str
    worker: str
    gateway: str
    scoring: str
    pull_policy: str = "IfNotPresent"


@dataclass(frozen=True, kw_only=True)
class Platform:
    """How the platform is installed: where it lives, what may talk to tenants, which images to run."""

    namespace: str = "barista"
    allowed_namespaces: tuple[str, ...] = ()
    internet_egress: bool = True
    images: Images


@dataclass(frozen=True, kw_only=True)
class Owner:
    """The custom resource a child belongs to; ``uid`` is None outside a cluster (``barista render``)."""

    kind: str
    name: str
    uid: str | None
    namespace: str | None = None

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@dataclass(frozen=True, kw_only=True)
class TenantInfo:
    """What a Sink, ScrapeFlow or Pipeline needs to know about its tenant (from the Tenant's status)."""

    name: str
    plan: Plan
    suspended: bool = False
    features: frozenset[Feature] = field(default_factory=frozenset)
    retention_days: int | None = None
    uid: str | None = None

    @property
    def namespace(self) -> str:
        from barista_core.naming import tenant_namespace

        return tenant_namespace(self.name)


@dataclass(frozen=True, kw_only=True)
class ResourceContext:
    """Context of a Sink, ScrapeFlow or Pipeline: who it is, its tenant, the platform."""

    name: str
    namespace: str
    uid: str | None
    tenant: TenantInfo
    platform: Platform

    def owner(self, kind: str) -> Owner:
        return Owner(kind=kind, name=self.name, uid=self.uid, namespace=self.namespace)


def metadata(
    *,
    name: str,
    namespace: str | None,
    owner: Owner,
    tenant: str,
    app: str,
    component: str,
    extra_labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    tenant_owner: Owner | None = None,
) -> dict[str, Any]:
    """Standard metadata: labels, owner references (when the owner's uid is known)."""
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {
        L.NAME: app,
        L.INSTANCE: owner.name,
        L.COMPONENT: component,
        L.PART_OF: L.PART_OF_VALUE,
        L.MANAGED_BY: L.MANAGED_BY_VALUE,
        L.TENANT: tenant,
        L.OWNER_KIND: owner.kind.lower(),
        L.OWNER_NAME: owner.name,
        **(extra_labels or {}),
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    refs = [o.reference() for o in (owner, tenant_owner) if o is not None and o.uid]
    if len(refs) == 2:
        refs[1]["controller"] = False  # only one controller per object
    if refs:
        meta["ownerReferences"] = refs
    return meta


def selector_labels(app: str, instance: str) -> dict[str, str]:
    """The immutable subset of labels a Deployment selects its pods by."""
    return {L.NAME: app, L.INSTANCE: instance}


# ---- pods --------------------------------------------------------------------------------------------------


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def probes(port: str = "probes") -> dict[str, Any]:
    return {
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": port},
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": port},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
    }


def container_resources(plan: Plan, resources: Resources | None) -> dict[str, Any]:
    """Requests and limits: the spec's where given, else the plan's namespace defaults."""
    quota = plan_spec(plan).quota
    requests = {"cpu": quota.default_request_cpu, "memory": quota.default_request_memory}
    limits = {"cpu": quota.default_limit_cpu, "memory": quota.default_limit_memory}
    if resources is not None:
        for target, given in ((requests, resources.requests), (limits, resources.limits)):
            if given is not None:
                target.update({k: v for k, v in (("cpu", given.cpu), ("memory", given.memory)) if v is not None})
    return {"requests": requests, "limits": limits}


def env_list(plain: Mapping[str, str], secrets: Mapping[str, tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """``env`` entries: plain values sorted by name, then secretKeyRefs (name → (secret, key))."""
    out: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(plain.items())]
    for name, (secret, key) in sorted((secrets or {}).items()):
        out.append({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    return out


def deployment(
    *,
    meta: dict[str, Any],
    app: str,
    replicas: int,
    container: dict[str, Any],
    volumes: Iterable[dict[str, Any]] = (),
) -> Manifest:
    """A hardened single-container Deployment; ``container`` gets security context and a /tmp volume."""
    selector = selector_labels(app, meta["labels"][L.INSTANCE])
    container = {
        **container,
        "imagePullPolicy": container.get("imagePullPolicy", "IfNotPresent"),
        "securityContext": container_security_context(),
        "volumeMounts": [*container.get("volumeMounts", []), {"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": dict(meta["labels"])},
                "spec": {
                    "serviceAccountName": TENANT_SERVICE_ACCOUNT,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": pod_security_context(),
                    "containers": [container],
                    "volumes": [*volumes, {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


# ---- component environments ------------------------------------------------------------------------------

_RENDERED: dict[tuple[type, str, tuple[str, ...]], dict[str, str]] = {}


_VALUES_MODELS: dict[type[Any], type[Any]] = {}


def _values_model(settings: type[Any]) -> type[Any]:
    """``settings`` without pydantic-settings' ``__init__``: the same fields and validators, but validating
    values no longer reads the environment and dotenv files first (about 2 ms per call, each distinct
    Sink or ScrapeFlow paying it)."""
    model = _VALUES_MODELS.get(settings)
    if model is None:
        namespace = {"__init__": BaseModel.__init__, "__module__": settings.__module__, "__doc__": settings.__doc__}
        model = _VALUES_MODELS[settings] = type(settings.__name__, (settings,), namespace)
    return model


def render_env(settings: type[Any], values: Mapping[str, Any], *, secret_fields: Iterable[str]) -> dict[str, str]:
    """A component's environment for ``values``, validated by its settings class exactly as the component
    validates at start-up (fields, bounds, cross-field rules), secrets left out (they come from Secrets).

    The same result as ``BaristaSettings.render_env`` (a test checks it), but through the model's validator
    alone: building pydantic-settings sources on every call cost more than the rest of a sinker's
    manifest in the operator benchmark. Memoised.
    """
    secrets = tuple(sorted(secret_fields))
    key = (settings, json.dumps(values, sort_keys=True, default=str), secrets)
    cached = _RENDERED.get(key)
    if cached is None:
        unknown = set(secrets) - set(settings.model_fields)
        if unknown:
            raise ValueError(f"unknown secret fields {sorted(unknown)}")
        try:
            validated = _values_model(settings).__pydantic_validator__.validate_python(
                {**values, **dict.fromkeys(secrets, "supplied-from-secret")}
            )
        except ValidationError as exc:
            raise ConfigError(describe_settings_error(settings, exc)) from None
        if len(_RENDERED) > 10_000:
            _RENDERED.clear()
        cached = _RENDERED[key] = validated.to_env()
    return dict(cached)


# ---- hashing -----------------------------------------------------------------------------------------------


def content_hash(value: Any) -> str:
    """sha256 of the canonical JSON of ``value`` (sorted keys, no spaces, UTF-8)."""
    data = value.encode() if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(data).hexdigest()


def stamp(manifests: list[Manifest]) -> list[Manifest]:
    """Add the applied-hash annotation to each manifest (the hash of the manifest without it)."""
    for manifest in manifests:
        meta = manifest["metadata"]
        annotations = meta.get("annotations") or {}
        annotations.pop(L.APPLIED_HASH, None)
        if not annotations:
            meta.pop("annotations", None)
        digest = content_hash(manifest)
        meta["annotations"] = {**annotations, L.APPLIED_HASH: digest}
    return manifests


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()
