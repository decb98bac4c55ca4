"""The Tiltfile evaluates against Tilt's builtins, names only paths and Dockerfiles that exist, and
deploys a consistent dev loop: every image it runs is built, every resource it configures exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import starlark as sl
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod"}


def repository(image: str) -> str:
    """An image reference without its tag or digest."""
    image = image.split("@", 1)[0]
    slash, colon = image.rfind("/"), image.rfind(":")
    return image[:colon] if colon > slash else image


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        return obj["spec"]["template"]["spec"]
    return None


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(obj) or {}
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def dockerfile_arg(dockerfile: Path, name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", dockerfile.read_text(), re.MULTILINE)
    assert match, f"{dockerfile}: no ARG {name}"
    return match.group(1)


def final_stage(dockerfile: Path) -> str:
    return dockerfile.read_text().rsplit("\nFROM ", 1)[1]


def resources(tilt) -> dict[str, dict[str, Any]]:
    """Tilt's resources as Tilt assembles them: one per workload (renamed by k8s_resource), those
    k8s_resource creates from objects, local resources, and "uncategorized" for the rest."""
    workloads = {o["metadata"]["name"]: o for o in tilt.k8s_objects if o["kind"] in WORKLOAD_KINDS}
    assert len(workloads) == len([o for o in tilt.k8s_objects if o["kind"] in WORKLOAD_KINDS]), "workload names clash"
    out: dict[str, dict[str, Any]] = {name: {"pod_owner": obj, "objects": [obj]} for name, obj in workloads.items()}
    claimed: set[int] = set()
    for call in tilt.k8s_resources:
        if call["workload"]:
            assert call["workload"] in out, f"k8s_resource({call['workload']!r}): no such workload"
            if call["new_name"]:
                out[call["new_name"]] = out.pop(call["workload"])
            out[call["new_name"] or call["workload"]].update({k: v for k, v in call.items() if k != "objects"})
        else:
            matched = []
            for selector in call["objects"]:
                name, kind = selector.split(":")[:2]
                hits = [o for o in tilt.k8s_objects if o["metadata"]["name"] == name and o["kind"].lower() == kind]
                assert len(hits) == 1, f"object selector {selector!r} matches {len(hits)} objects"
                assert id(hits[0]) not in claimed, f"{selector} is in two resources"
                claimed.add(id(hits[0]))
                matched += hits
            out[call["new_name"]] = {**call, "objects": matched}
    for call in tilt.local_resources:
        out[call["name"]] = call
    rest = [o for o in tilt.k8s_objects if o["kind"] not in WORKLOAD_KINDS and id(o) not in claimed]
    if rest:
        out["uncategorized"] = {"objects": rest}
    return out


def test_evaluates_against_tilt_builtins(tilt) -> None:
    assert tilt.k8s_objects and tilt.docker_builds and tilt.k8s_resources


def test_parses_without_lint_errors(dev) -> None:
    ast = sl.parse("Tiltfile", dev.TILTFILE.read_text(), sl.Dialect.extended())
    errors = [lint for lint in ast.lint() if str(lint.severity).lower().endswith("error")]
    assert not errors, [f"{lint.resolved_location}: {lint.problem}" for lint in errors]


def test_only_the_kind_cluster(dev, tilt) -> None:
    assert tilt.allowed_contexts == [dev.KIND_CONTEXT]
    with pytest.raises(sl.StarlarkError, match="deploys only to the kind cluster kind-barista"):
        dev.evaluate(context="gke_prod_europe-west1_main")


def test_named_paths_exist(tilt) -> None:
    named: list[str] = []
    for build in tilt.docker_builds:
        named.append(build["context"])
        if build["dockerfile"]:
            named.append(build["dockerfile"])
        named += build["only"]
        named += [step["local"] for step in build["live_update"] if step["step"] == "sync"]
    for call in tilt.helm_calls:
        named += [call["chart"], *call["values"]]
    for call in tilt.local_resources:
        named += call["deps"]
    named += tilt.paths_read
    missing = [p for p in named if not (Path(p) if Path(p).is_absolute() else ROOT / p).exists()]
    assert not missing, f"the Tiltfile names paths that do not exist: {missing}"


def test_every_component_dockerfile_is_built(tilt) -> None:
    built = {b["dockerfile"] for b in tilt.docker_builds if b["dockerfile"]}
    on_disk = {
        str(p.relative_to(ROOT)) for p in [ROOT / "operator" / "Dockerfile", *ROOT.glob("components/*/Dockerfile")]
    }
    assert built == on_disk


def test_every_image_it_runs_is_built_and_every_build_is_used(tilt) -> None:
    refs = {b["ref"]: b for b in tilt.docker_builds}
    used: set[str] = set()
    for obj in tilt.k8s_objects:
        for c in containers(obj):
            image = repository(c["image"])
            if image.startswith("localhost:5001/"):
                assert image in refs, f"{obj['metadata']['name']} runs {image}, which nothing builds"
                used.add(image)
            for env in c.get("env", []):
                if repository(str(env.get("value", ""))) in refs:
                    assert refs[repository(env["value"])]["match_in_env_vars"], env["name"]
                    used.add(repository(env["value"]))
    for build in tilt.docker_builds:
        used |= {line.split()[1] for line in str(build["dockerfile_contents"]).splitlines() if line.startswith("FROM ")}
    assert set(refs) <= used, f"built but never used: {set(refs) - used}"


def test_operator_creates_workloads_from_freshly_built_images(tilt) -> None:
    operator = next(
        o for o in tilt.k8s_objects if o["metadata"]["name"] == "barista-operator" and o["kind"] == "Deployment"
    )
    env = {e["name"]: e.get("value") for e in containers(operator)[0]["env"]}
    refs = {b["ref"] for b in tilt.docker_builds if b["match_in_env_vars"]}
    for component in ("INGEST", "WORKER", "GATEWAY", "SCORING"):
        assert repository(env[f"BARISTA_OPERATOR_{component}_IMAGE"]) in refs, component


def test_live_updates_sync_into_the_images_environment(tilt) -> None:
    for build in tilt.docker_builds:
        syncs = [s for s in build["live_update"] if s["step"] == "sync"]
        if not syncs:
            continue
        base = next(b for b in tilt.docker_builds if b["dockerfile"] and build["ref"].startswith(b["ref"]))
        dockerfile = ROOT / base["dockerfile"]
        python = dockerfile_arg(dockerfile, "PYTHON_VERSION")
        site = f"/app/.venv/lib/python{python}/site-packages/"
        assert "/app/.venv" in final_stage(dockerfile)
        for step in syncs:
            assert (ROOT / step["local"]).is_dir(), step
            assert step["remote"] == site + Path(step["local"]).name, step
            assert (ROOT / step["local"] / "__init__.py").exists(), f"{step['local']} is not a package"


def test_restarting_images_wrap_the_dockerfile_entrypoint(tilt) -> None:
    restarting = [b for b in tilt.docker_builds if b["entrypoint"]]
    assert {b["ref"].rsplit("/", 1)[1] for b in restarting} == {
        "operator-dev",
        "ingest-dev",
        "gateway-dev",
        "scoring-dev",
    }
    for build in restarting:
        base_ref = build["ref"].removesuffix("-dev")
        base = next(b for b in tilt.docker_builds if b["ref"] == base_ref)
        assert f"FROM {base_ref}" in build["dockerfile_contents"]
        match = re.search(r"^ENTRYPOINT (\[.*\])$", (ROOT / base["dockerfile"]).read_text(), re.MULTILINE)
        assert match, base["dockerfile"]
        wrapper, watch, *entrypoint = build["entrypoint"]
        assert (wrapper, entrypoint) == ("/tilt-restart-wrapper", yaml.safe_load(match.group(1)))
        restart_file = watch.removeprefix("--watch_file=")
        assert f'RUN ["touch", "{restart_file}"]' in build["dockerfile_contents"]
        assert build["live_update"][-1] == {"step": "run", "cmd": f"date > {restart_file}"}
        assert restart_file.startswith("/app/"), "the image's user owns /app in dev builds, nothing else"


def test_dev_builds_let_the_container_user_own_the_code(tilt) -> None:
    for build in tilt.docker_builds:
        if not build["dockerfile"]:
            continue
        user = re.findall(r"^USER (\d+)", final_stage(ROOT / build["dockerfile"]), re.MULTILINE)[-1]
        assert build["build_args"] == {"CODE_OWNER": user}, build["ref"]


def test_only_live_updated_containers_get_a_writable_root(tilt) -> None:
    live = {b["ref"] for b in tilt.docker_builds if b["live_update"]}
    seen = False
    for obj in tilt.k8s_objects:
        for c in containers(obj):
            writable = c["securityContext"]["readOnlyRootFilesystem"] is False
            assert writable == (repository(c["image"]) in live), f"{obj['metadata']['name']}/{c['name']}"
            seen = seen or writable
    assert seen


def test_the_chart_with_dev_values(tilt) -> None:
    assert tilt.helm_calls == [
        {
            "chart": "charts/barista",
            "name": "barista",
            "namespace": "barista",
            "values": ["charts/barista/values-dev.yaml"],
        }
    ]
    namespaces = [o for o in tilt.k8s_objects if o["kind"] == "Namespace"]
    assert [n["metadata"]["name"] for n in namespaces] == ["barista"]
    kinds = {o["kind"] for o in tilt.k8s_objects}
    assert {"CustomResourceDefinition", "Deployment", "StatefulSet", "ClusterKopfPeering"} <= kinds


def test_resources_are_named_labelled_and_depend_on_existing_ones(tilt) -> None:
    assembled = resources(tilt)
    for name, resource in assembled.items():
        for dep in resource.get("resource_deps", []):
            assert dep in assembled, f"{name} depends on unknown resource {dep}"
        if name != "uncategorized":
            assert resource.get("labels"), f"resource {name} has no label"
    workloads = [n for n, r in assembled.items() if "pod_owner" in r]
    assert len(workloads) == len([o for o in tilt.k8s_objects if o["kind"] in WORKLOAD_KINDS])
    assert {"operator", "gateway", "ingest", "scoring", "airflow", "postgresql"} <= set(workloads)


def test_port_forwards_reach_container_ports(tilt) -> None:
    forwards = {}
    for name, resource in resources(tilt).items():
        for forward in resource.get("port_forwards", []):
            local, remote = forward.split(":")[-2:]
            ports = {p["containerPort"] for c in containers(resource["pod_owner"]) for p in c.get("ports", [])}
            assert int(remote) in ports, f"{name}: container port {remote} does not exist"
            assert local not in forwards, f"local port {local} forwarded twice ({forwards.get(local)}, {name})"
            forwards[local] = name
    assert {"gateway", "ingest", "airflow"} <= set(forwards.values())


def test_codegen_and_crd_sync_run_as_local_resources(tilt) -> None:
    by_name = {r["name"]: r for r in tilt.local_resources}
    assert "scripts/gen_protos.py" in by_name["protos"]["cmd"] and "protos" in by_name["protos"]["deps"]
    assert "scripts/gen_crds.py" in by_name["crds"]["cmd"]
    assert "operator/barista_operator/api" in by_name["crds"]["deps"]


def test_every_example_is_applied(tilt) -> None:
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    applied_objects = {(o["kind"], o["metadata"]["name"]) for o in tilt.k8s_objects}
    command = next(r for r in tilt.local_resources if r["name"] == "example-resources")
    for path in examples:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        if all(d["kind"] == "Tenant" for d in docs):
            assert all((d["kind"], d["metadata"]["name"]) in applied_objects for d in docs), path.name
        else:
            assert f"apply -f {path}" in command["cmd"] and str(path) in command["deps"], path.name
            for namespace in {d["metadata"]["namespace"] for d in docs}:
                assert f"get namespace {namespace}" in command["cmd"], f"{path.name}: waits for {namespace}"


def test_registry_setup_matches_kind_config_and_dev_values(tilt) -> None:
    setup = "\n".join(tilt.local_commands)
    kind = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    config_path = re.search(r'config_path\s*=\s*"([^"]+)"', "\n".join(kind["containerdConfigPatches"]))
    assert config_path, "kind-config.yaml must enable containerd's registry hosts directory"
    assert f"{config_path.group(1)}/localhost:5001/hosts.toml" in setup
    assert "kind get nodes --name " + kind["name"] in setup
    assert "local-registry-hosting" in setup and "127.0.0.1:5001:5000" in setup
    dev_values = yaml.safe_load((ROOT / "charts" / "barista" / "values-dev.yaml").read_text())
    registries = {v["image"]["registry"] for v in dev_values.values() if isinstance(v, dict) and "image" in v}
    assert registries == {"localhost:5001"}
