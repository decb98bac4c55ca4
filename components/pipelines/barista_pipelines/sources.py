"""Where DAG specs come from: a directory of JSON files and/or the operator's ConfigMaps.

The Kubernetes part is small on purpose: one read-only ``list`` of ConfigMaps by label selector over
the in-cluster service account (token + CA from the standard mount), paginated, no client library.
A ConfigMap's spec counts only if it lives in its tenant's namespace (``tenant-<name>``; a tenant that
can write ConfigMaps in its own namespace cannot make DAGs for another) and its content hash matches
the operator's ``barista.dev/content-hash`` annotation.

Problems with one spec never hide the others: they are collected as :class:`SpecProblem` and logged.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from barista_core.logging import get_logger
from barista_core.naming import tenant_namespace
from barista_pipelines.settings import PipelinesSettings
from barista_pipelines.spec import CONTENT_HASH_ANNOTATION, DAG_SPEC_KEY, DAG_SPEC_LABEL, DagSpec, SpecError, parse_spec

log = get_logger(__name__)

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True, slots=True)
class SpecProblem:
    source: str
    message: str


@dataclass
class LoadedSpecs:
    specs: dict[str, DagSpec] = field(default_factory=dict)  # by dag id
    origins: dict[str, str] = field(default_factory=dict)  # dag id → where it came from
    problems: list[SpecProblem] = field(default_factory=list)

    def add(self, spec: DagSpec, source: str) -> None:
        if spec.dag_id in self.specs:
            self.problems.append(
                SpecProblem(source, f"DAG {spec.dag_id} already defined by {self.origins[spec.dag_id]}; ignored")
            )
            return
        self.specs[spec.dag_id] = spec
        self.origins[spec.dag_id] = source

    def parse(self, text: str | bytes, source: str) -> None:
        try:
            self.add(parse_spec(text, source=source), source)
        except SpecError as exc:
            self.problems.append(SpecProblem(source, str(exc)))


def content_hash(text: str) -> str:
    """The operator's hash of a rendered spec (barista_operator.builders.common.content_hash of the text)."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def load_directory(directory: Path, into: LoadedSpecs | None = None) -> LoadedSpecs:
    """Every ``*.json`` file in ``directory`` (sorted by name)."""
    loaded = into if into is not None else LoadedSpecs()
    if not directory.is_dir():
        loaded.problems.append(SpecProblem(str(directory), "spec directory does not exist"))
        return loaded
    for path in sorted(directory.glob("*.json")):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            loaded.problems.append(SpecProblem(str(path), f"cannot read: {exc}"))
            continue
        loaded.parse(text, str(path))
    return loaded


def load_config_maps(items: Iterable[Mapping[str, Any]], into: LoadedSpecs | None = None) -> LoadedSpecs:
    """Specs from ConfigMap objects as the API returns them (pure: also used on a fetched list)."""
    loaded = into if into is not None else LoadedSpecs()
    for item in items:
        meta = item.get("metadata") or {}
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        source = f"configmap {namespace}/{name}"
        if (meta.get("labels") or {}).get(DAG_SPEC_LABEL) != "true":
            continue  # the server filtered already; a second look costs nothing
        text = (item.get("data") or {}).get(DAG_SPEC_KEY)
        if not isinstance(text, str):
            loaded.problems.append(SpecProblem(source, f"no {DAG_SPEC_KEY} key"))
            continue
        expected = (meta.get("annotations") or {}).get(CONTENT_HASH_ANNOTATION)
        if expected is not None and expected != content_hash(text):
            loaded.problems.append(SpecProblem(source, f"{CONTENT_HASH_ANNOTATION} does not match the spec (edited?)"))
            continue
        try:
            spec = parse_spec(text, source=source)
        except SpecError as exc:
            loaded.problems.append(SpecProblem(source, str(exc)))
            continue
        if namespace != tenant_namespace(spec.tenant) or spec.namespace != namespace:
            loaded.problems.append(
                SpecProblem(source, f"a spec of tenant {spec.tenant!r} must live in {tenant_namespace(spec.tenant)}")
            )
            continue
        loaded.add(spec, source)
    return loaded


@dataclass(frozen=True, slots=True, kw_only=True)
class KubernetesAccess:
    base_url: str
    token: str | None = None
    ca_file: str | None = None
    timeout: float = 10.0

    @classmethod
    def in_cluster(cls, timeout: float = 10.0) -> KubernetesAccess:
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if ":" in host:
            host = f"[{host}]"
        token = (SERVICE_ACCOUNT / "token").read_text().strip()
        return cls(
            base_url=f"https://{host}:{port}", token=token, ca_file=str(SERVICE_ACCOUNT / "ca.crt"), timeout=timeout
        )


def in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and (SERVICE_ACCOUNT / "token").is_file()


def fetch_config_maps(access: KubernetesAccess, namespaces: Iterable[str] = ()) -> list[dict[str, Any]]:
    """ConfigMaps labelled ``barista.dev/dag-spec=true`` (in ``namespaces``, or all), every page."""
    context = ssl.create_default_context(cafile=access.ca_file) if access.base_url.startswith("https") else None
    paths = [f"/api/v1/namespaces/{urllib.parse.quote(ns, safe='')}/configmaps" for ns in namespaces]
    items: list[dict[str, Any]] = []
    for path in paths or ["/api/v1/configmaps"]:
        token: str | None = None
        while True:
            query = {"labelSelector": f"{DAG_SPEC_LABEL}=true", "limit": "500"}
            if token:
                query["continue"] = token
            request = urllib.request.Request(f"{access.base_url}{path}?{urllib.parse.urlencode(query)}")  # noqa: S310
            request.add_header("Accept", "application/json")
            if access.token:
                request.add_header("Authorization", f"Bearer {access.token}")
            with urllib.request.urlopen(request, timeout=access.timeout, context=context) as response:  # noqa: S310
                body = json.load(response)
            items.extend(body.get("items") or [])
            token = (body.get("metadata") or {}).get("continue")
            if not token:
                break
    return items


def load_specs(settings: PipelinesSettings | None = None) -> LoadedSpecs:
    """Specs from the configured directory and, in a cluster (or when told), from ConfigMaps."""
    settings = settings or PipelinesSettings.load()
    loaded = LoadedSpecs()
    if settings.pipelines_spec_dir is not None:
        load_directory(settings.pipelines_spec_dir, loaded)
    use_kubernetes = settings.pipelines_kubernetes == "true" or (
        settings.pipelines_kubernetes == "auto" and in_cluster()
    )
    if use_kubernetes:
        access = KubernetesAccess.in_cluster(settings.pipelines_kubernetes_timeout_seconds)
        load_config_maps(fetch_config_maps(access, settings.pipelines_namespaces), loaded)
    for problem in loaded.problems:
        log.error("DAG spec skipped", source=problem.source, problem=problem.message)
    return loaded
