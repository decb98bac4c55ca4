"""Evaluate the Tiltfile with starlark-pyo3 against stub Tilt builtins.

Each stub has the signature of Tilt's builtin (internal/tiltfile/api/__init__.py in tilt-dev/tilt), so
a misspelt keyword or a missing argument fails as it would in Tilt; unknown names fail at compile
time. The stubs record what the Tiltfile asks for. ``helm()`` runs the real helm binary, so the
objects the Tiltfile post-processes and deploys are the chart's. Nothing touches a cluster, Docker or
the network: ``local()`` only records its command.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import starlark as sl
import yaml

ROOT = Path(__file__).resolve().parents[2]
TILTFILE = ROOT / "Tiltfile"
HELM = ROOT / ".tools" / "helm"
KIND_CONTEXT = "kind-barista"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Blob:
    """Tilt's Blob: text meant as content (YAML, command output), not as a path. Starlark code can
    only pass it on (an opaque value), which is all a Tiltfile should do with one."""

    text: str


def blob(text: str) -> sl.OpaquePythonObject:
    return sl.OpaquePythonObject(Blob(text))


@dataclass
class TiltRun:
    """What one evaluation of the Tiltfile asked Tilt to do."""

    context: str
    allowed_contexts: list[str] = field(default_factory=list)
    docker_builds: list[dict[str, Any]] = field(default_factory=list)
    k8s_objects: list[dict[str, Any]] = field(default_factory=list)
    k8s_resources: list[dict[str, Any]] = field(default_factory=list)
    local_resources: list[dict[str, Any]] = field(default_factory=list)
    local_commands: list[str] = field(default_factory=list)
    helm_calls: list[dict[str, Any]] = field(default_factory=list)
    paths_read: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    # ---- the builtins -------------------------------------------------------------------------------------

    def allow_k8s_contexts(self, contexts: str | list[str]) -> None:
        self.allowed_contexts += [contexts] if isinstance(contexts, str) else list(contexts)

    def k8s_context(self) -> str:
        return self.context

    def update_settings(
        self,
        max_parallel_updates: int = 3,
        k8s_upsert_timeout_secs: int = 30,
        suppress_unused_image_warnings: Any = None,
    ) -> None:
        self.settings.update(max_parallel_updates=max_parallel_updates, k8s_upsert_timeout_secs=k8s_upsert_timeout_secs)

    def local(
        self,
        command: str | list[str],
        quiet: bool = False,
        command_bat: str | list[str] = "",
        echo_off: bool = False,
        env: dict[str, str] | None = None,
        dir: str = "",
        stdin: Any = None,
    ) -> sl.OpaquePythonObject:
        self.local_commands.append(command if isinstance(command, str) else " ".join(command))
        return blob("")

    def local_resource(
        self,
        name: str,
        cmd: str | list[str] = "",
        deps: str | list[str] | None = None,
        trigger_mode: Any = None,
        resource_deps: list[str] | None = None,
        ignore: str | list[str] | None = None,
        auto_init: bool = True,
        serve_cmd: str | list[str] = "",
        cmd_bat: str | list[str] = "",
        serve_cmd_bat: str | list[str] = "",
        allow_parallel: bool = False,
        links: Any = None,
        labels: list[str] | None = None,
        env: dict[str, str] | None = None,
        serve_env: dict[str, str] | None = None,
        readiness_probe: Any = None,
        dir: str = "",
        serve_dir: str = "",
    ) -> None:
        deps = [deps] if isinstance(deps, str) else list(deps or [])
        self.local_resources.append(
            {"name": name, "cmd": cmd, "deps": deps, "resource_deps": list(resource_deps or []), "labels": labels or []}
        )

    def docker_build(
        self,
        ref: str,
        context: str,
        build_args: dict[str, str] | None = None,
        dockerfile: str = "Dockerfile",
        dockerfile_contents: str | Blob = "",
        live_update: list[dict[str, Any]] | None = None,
        match_in_env_vars: bool = False,
        ignore: str | list[str] | None = None,
        only: str | list[str] | None = None,
        entrypoint: str | list[str] | None = None,
        target: str = "",
        ssh: str | list[str] = "",
        network: str = "",
        secret: str | list[str] = "",
        extra_tag: str | list[str] = "",
        container_args: list[str] | None = None,
        cache_from: str | list[str] | None = None,
        pull: bool = False,
        platform: str = "",
        extra_hosts: str | list[str] | None = None,
    ) -> None:
        if dockerfile != "Dockerfile" and dockerfile_contents:
            raise ValueError("docker_build: dockerfile and dockerfile_contents exclude each other")
        self.docker_builds.append(
            {
                "ref": ref,
                "context": context,
                "build_args": dict(build_args or {}),
                "dockerfile": None if dockerfile_contents else dockerfile,
                "dockerfile_contents": dockerfile_contents,
                "live_update": list(live_update or []),
                "match_in_env_vars": match_in_env_vars,
                "only": [only] if isinstance(only, str) else list(only or []),
                "entrypoint": [entrypoint] if isinstance(entrypoint, str) else list(entrypoint or []),
            }
        )

    def sync(self, local_path: str, remote_path: str) -> dict[str, str]:
        return {"step": "sync", "local": local_path, "remote": remote_path}

    def run(
        self, cmd: str | list[str], trigger: str | list[str] | None = None, echo_off: bool = False
    ) -> dict[str, Any]:
        return {"step": "run", "cmd": cmd}

    def link(self, url: str, name: str | None = None) -> dict[str, Any]:
        return {"link": url, "name": name}

    def helm(
        self,
        pathToChartDir: str,
        name: str = "",
        namespace: str = "",
        values: str | list[str] | None = None,
        set: str | list[str] | None = None,
        kube_version: str = "",
        skip_crds: bool = False,
    ) -> sl.OpaquePythonObject:
        values = [values] if isinstance(values, str) else list(values or [])
        sets = [set] if isinstance(set, str) else list(set or [])
        self.helm_calls.append({"chart": pathToChartDir, "name": name, "namespace": namespace, "values": values})
        args = [str(HELM), "template", name or "release", str(ROOT / pathToChartDir)]
        if namespace:
            args += ["--namespace", namespace]
        for v in values:
            args += ["--values", str(ROOT / v)]
        for s in sets:
            args += ["--set", s]
        if not skip_crds:
            args.append("--include-crds")  # as Tilt does
        if not HELM.exists():
            pytest.fail(f"{HELM.relative_to(ROOT)} is missing: run scripts/fetch-tools.sh (make bootstrap)")
        return blob(subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout)

    def decode_yaml_stream(self, yaml_text: str | Blob) -> list[Any]:
        text = yaml_text.text if isinstance(yaml_text, Blob) else yaml_text
        return list(yaml.load_all(text, Loader=_LOADER))

    def encode_yaml_stream(self, objs: list[Any]) -> sl.OpaquePythonObject:
        return blob(yaml.safe_dump_all(objs, sort_keys=False))

    def encode_yaml(self, obj: Any) -> sl.OpaquePythonObject:
        return blob(yaml.safe_dump(obj, sort_keys=False))

    def read_yaml_stream(self, path: str, default: Any = None) -> list[Any]:
        self.paths_read.append(path)
        return list(yaml.load_all(self._path(path).read_text(), Loader=_LOADER))

    def listdir(self, directory: str, recursive: bool = False) -> list[str]:
        self.paths_read.append(directory)
        pattern = "**/*" if recursive else "*"
        return sorted(str(p) for p in self._path(directory).glob(pattern) if p.is_file())

    def k8s_yaml(self, yaml_: str | list[str] | Blob, allow_duplicates: bool = False) -> None:
        if isinstance(yaml_, Blob):
            texts = [yaml_.text]
        else:  # paths
            paths = [yaml_] if isinstance(yaml_, str) else list(yaml_)
            self.paths_read += paths
            texts = [self._path(p).read_text() for p in paths]
        for text in texts:
            self.k8s_objects += [o for o in yaml.load_all(text, Loader=_LOADER) if o]

    def k8s_resource(
        self,
        workload: str = "",
        new_name: str = "",
        port_forwards: Any = None,
        extra_pod_selectors: Any = None,
        trigger_mode: Any = None,
        resource_deps: list[str] | None = None,
        objects: list[str] | None = None,
        auto_init: bool = True,
        pod_readiness: str = "",
        links: Any = None,
        labels: str | list[str] | None = None,
        discovery_strategy: str = "",
    ) -> None:
        if not workload and not (new_name and objects is not None):
            raise ValueError("k8s_resource: name a workload, or give new_name and objects")
        forwards = [port_forwards] if isinstance(port_forwards, str | int) else list(port_forwards or [])
        self.k8s_resources.append(
            {
                "workload": workload,
                "new_name": new_name,
                "port_forwards": [str(f) for f in forwards],
                "resource_deps": list(resource_deps or []),
                "objects": list(objects or []),
                "labels": [labels] if isinstance(labels, str) else list(labels or []),
            }
        )

    def _path(self, path: str) -> Path:
        return Path(path) if Path(path).is_absolute() else ROOT / path


BUILTINS = [
    "allow_k8s_contexts", "k8s_context", "update_settings", "local", "local_resource", "docker_build", "sync",
    "run", "link", "helm", "decode_yaml_stream", "encode_yaml_stream", "encode_yaml", "read_yaml_stream",
    "listdir", "k8s_yaml", "k8s_resource",
]  # fmt: skip


def evaluate(context: str = KIND_CONTEXT) -> TiltRun:
    """Evaluate the Tiltfile as Tilt would, connected to ``context``."""
    tilt = TiltRun(context=context)
    module = sl.Module()
    for name in BUILTINS:
        module.add_callable(name, getattr(tilt, name))
    dialect = sl.Dialect.extended()
    dialect.enable_f_strings = True
    ast = sl.parse("Tiltfile", TILTFILE.read_text(), dialect)

    def load(name: str) -> sl.FrozenModule:
        raise AssertionError(f"the Tiltfile loads {name}: add a stub for it")

    sl.eval(module, ast, sl.Globals.standard(), sl.FileLoader(load))
    return tilt


@pytest.fixture(scope="session")
def tilt() -> TiltRun:
    return evaluate()


@pytest.fixture(scope="session")
def dev() -> SimpleNamespace:
    return SimpleNamespace(ROOT=ROOT, TILTFILE=TILTFILE, KIND_CONTEXT=KIND_CONTEXT, evaluate=evaluate, Blob=Blob)
