"""Chart tests: one ``render_chart()`` helper around the real helm binary (.tools/helm).

``render_chart(values, profile=..., show_only=..., kube_version=...)`` runs ``helm template``, parses the
output into dicts and validates every object before returning it: core Kubernetes kinds with
kubernetes-validate in strict mode (unknown fields are errors) for the requested Kubernetes version,
custom resources against their CRD's schema. Renders are cached per argument set, so each profile is
rendered once per session however many tests look at it.

Profiles are the chart's values files: values.yaml alone ("default"), values-<name>.yaml and the test
scenarios in ci/values-<name>.yaml ("ci-<name>").
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "barista"
HELM = ROOT / ".tools" / "helm"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
KUBE_VERSIONS = ("1.29", "1.37")
RELEASE = "barista"
NAMESPACE = "barista"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses helm's output ~15x faster


def _profiles() -> dict[str, tuple[str, ...]]:
    profiles: dict[str, tuple[str, ...]] = {"default": ()}
    for path in sorted(CHART.glob("values-*.yaml")):
        profiles[path.stem.removeprefix("values-")] = (path.name,)
    for path in sorted((CHART / "ci").glob("values-*.yaml")):
        profiles["ci-" + path.stem.removeprefix("values-")] = (f"ci/{path.name}",)
    return profiles


PROFILES = _profiles()

# kubernetes-validate parses its schema files (the definitions file is megabytes) on every call; they
# never change, so parse each once per session.
kubernetes_validate.utils.schema_contents = cache(kubernetes_validate.utils.schema_contents)
_validated: set[tuple[object, ...]] = set()


class RenderError(Exception):
    """helm refused to render; ``str()`` is its message."""


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    if not HELM.exists():
        pytest.fail(f"{HELM.relative_to(ROOT)} is missing: run scripts/fetch-tools.sh (make bootstrap)")
    result = subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)
    if check and result.returncode != 0:
        raise RenderError(result.stderr.strip() or result.stdout.strip())
    return result


@cache
def _render_text(
    profile: str,
    values_json: str,
    show_only: tuple[str, ...],
    kube_version: str,
    include_crds: bool,
    release: str,
    namespace: str,
) -> str:
    args = ["template", release, str(CHART), "--namespace", namespace, "--kube-version", kube_version]
    for values_file in PROFILES[profile]:
        args += ["--values", str(CHART / values_file)]
    if include_crds:
        args.append("--include-crds")
    for template in show_only:
        args += ["--show-only", template]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as extra:
        json.dump(json.loads(values_json), extra)
    try:
        return helm(*args, "--values", extra.name).stdout
    finally:
        Path(extra.name).unlink()


def parse(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc]


@cache
def _parsed(key: tuple[Any, ...]) -> tuple[dict[str, Any], ...]:
    return tuple(parse(_render_text(*key)))


@cache
def _crd_validators() -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """Schemas of the custom resources the chart renders: kopf's peering CRDs (rendered by the chart
    itself) and the ServiceMonitor subset kept in tests/chart/schemas."""
    validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}
    crds = parse(
        _render_text("default", "{}", ("templates/operator/kopf-peering-crds.yaml",), "1.37", False, RELEASE, NAMESPACE)
    )
    for crd in crds:
        for version in crd["spec"]["versions"]:
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            validators[key] = jsonschema.Draft7Validator(version["schema"]["openAPIV3Schema"])
    servicemonitor = json.loads((SCHEMAS / "servicemonitor.json").read_text())
    validators[("monitoring.coreos.com/v1", "ServiceMonitor")] = jsonschema.Draft7Validator(servicemonitor)
    return validators


def validate_manifest(obj: Mapping[str, Any], kube_version: str) -> None:
    """Raise AssertionError naming the object and the first problem found."""
    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')} (Kubernetes {kube_version})"
    custom = _crd_validators().get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if custom is not None:
        errors = sorted(custom.iter_errors(obj), key=lambda e: list(e.path))
        if errors:
            path = "/".join(str(p) for p in errors[0].path)
            raise AssertionError(f"{where}: at {path or '/'}: {errors[0].message}")
        return
    try:
        kubernetes_validate.validate(dict(obj), kube_version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = "/".join(str(p) for p in exc.path)
        raise AssertionError(f"{where}: at {path or '/'}: {exc.message}") from None
    except kubernetes_validate.SchemaNotFoundError as exc:
        raise AssertionError(f"{where}: no schema to validate it against ({exc.message})") from None


def render_chart(
    values: Mapping[str, Any] | None = None,
    *,
    profile: str = "default",
    show_only: Iterable[str] = (),
    kube_version: str = "1.37",
    include_crds: bool = False,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    validate: bool = True,
) -> list[dict[str, Any]]:
    """Render the chart (values on top of a profile) and return its objects, each validated.

    The objects are shared between calls with the same arguments: read them, do not change them."""
    key = (
        profile,
        json.dumps(dict(values or {}), sort_keys=True),
        tuple(show_only),
        kube_version,
        include_crds,
        release,
        namespace,
    )
    objects = list(_parsed(key))
    if validate and key not in _validated:
        for obj in objects:
            validate_manifest(obj, kube_version)
        _validated.add(key)
    return objects


def render_error(values: Mapping[str, Any] | None = None, *, profile: str = "default") -> str:
    """The message helm fails with for these values (the test fails if helm renders them)."""
    try:
        render_chart(values, profile=profile, validate=False)
    except RenderError as exc:
        return str(exc)
    raise AssertionError(f"helm rendered values it should have rejected: {values}")


def find(objects: Iterable[Mapping[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: Iterable[Mapping[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def containers(obj: Mapping[str, Any], *, init: bool = True) -> list[dict[str, Any]]:
    spec = pod_spec(obj)
    return [*(spec.get("initContainers", []) if init else []), *spec["containers"]]


def object_id(obj: Mapping[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


@pytest.fixture(scope="session")
def chart() -> SimpleNamespace:
    """The helpers above for test modules (conftest modules are not importable under importlib mode)."""
    return SimpleNamespace(
        render_chart=render_chart,
        render_error=render_error,
        validate_manifest=validate_manifest,
        helm=helm,
        find=find,
        one=one,
        pod_spec=pod_spec,
        containers=containers,
        object_id=object_id,
        ROOT=ROOT,
        CHART=CHART,
        PROFILES=PROFILES,
        KUBE_VERSIONS=KUBE_VERSIONS,
        RELEASE=RELEASE,
        NAMESPACE=NAMESPACE,
        WORKLOAD_KINDS=WORKLOAD_KINDS,
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``profile``: every values profile. ``manifest_case``: every object of every profile, for each
    Kubernetes version (validation). ``workload_case``: every workload of every profile (policy)."""
    if "profile" in metafunc.fixturenames:
        metafunc.parametrize("profile", list(PROFILES))
    if "manifest_case" in metafunc.fixturenames:
        cases = [
            pytest.param((profile, version, obj), id=f"{profile}-{version}-{object_id(obj)}")
            for profile in PROFILES
            for version in KUBE_VERSIONS
            for obj in render_chart(profile=profile, kube_version=version, include_crds=True, validate=False)
        ]
        metafunc.parametrize("manifest_case", cases)
    if "workload_case" in metafunc.fixturenames:
        cases = [
            pytest.param((profile, obj), id=f"{profile}-{object_id(obj)}")
            for profile in PROFILES
            for obj in render_chart(profile=profile, validate=False)
            if obj["kind"] in WORKLOAD_KINDS
        ]
        metafunc.parametrize("workload_case", cases)
