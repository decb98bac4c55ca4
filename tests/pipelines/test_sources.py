"""Where specs come from: a directory, and the operator's ConfigMaps over the Kubernetes API (kmock, real HTTP)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from barista_pipelines.settings import PipelinesSettings
from barista_pipelines.sources import KubernetesAccess, content_hash, fetch_config_maps, load_config_maps, load_specs
from tests.pipelines.conftest import make_spec, write_spec


def config_map(spec: dict[str, Any], *, name: str | None = None, labelled: bool = True) -> dict[str, Any]:
    text = json.dumps(spec, indent=2, sort_keys=True) + "\n"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name or f"pipeline-{spec['pipeline']}",
            "namespace": spec["namespace"],
            "labels": {"barista.dev/dag-spec": "true"} if labelled else {"app": "other"},
            "annotations": {"barista.dev/content-hash": content_hash(text)},
        },
        "data": {"dag-spec.json": text},
    }


def test_a_directory_yields_its_valid_specs_and_names_the_rest(tmp_path: Path) -> None:
    write_spec(tmp_path, make_spec())
    write_spec(tmp_path, make_spec(tenant="globex"))
    (tmp_path / "dup.json").write_text(json.dumps(make_spec()))  # the same DAG id again
    (tmp_path / "notes.txt").write_text("ignored: not *.json")
    (tmp_path / "zz-bad.json").write_text(json.dumps(make_spec(retries=99)))
    loaded = load_specs(PipelinesSettings(pipelines_spec_dir=tmp_path, pipelines_kubernetes="false"))
    assert sorted(loaded.specs) == ["acme__leaderboards", "globex__leaderboards"]
    problems = {Path(p.source).name: p.message for p in loaded.problems}
    assert set(problems) == {"dup.json", "zz-bad.json"}
    assert "already defined by" in problems["dup.json"]
    assert "retries" in problems["zz-bad.json"]


def test_a_missing_directory_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    loaded = load_specs(PipelinesSettings(pipelines_spec_dir=tmp_path / "nope", pipelines_kubernetes="false"))
    assert loaded.specs == {} and "does not exist" in loaded.problems[0].message


async def test_configmaps_are_listed_from_the_kubernetes_api(kmock: Any) -> None:
    kmock.resources["v1/configmaps"] = kmock.ResourceInfo(kind="ConfigMap", namespaced=True)
    specs = [make_spec(), make_spec(tenant="globex", pipeline="nightly", paused=True)]
    for spec in specs:
        body = config_map(spec)
        kmock.objects["v1/configmaps", spec["namespace"], body["metadata"]["name"]] = body
    other = config_map(make_spec(tenant="initech"), labelled=False)  # kmock ignores label selectors: we do not
    kmock.objects["v1/configmaps", "tenant-initech", "unrelated"] = other

    access = KubernetesAccess(base_url=str(kmock.url).rstrip("/"), token="t0ken", timeout=5)
    items = await asyncio.to_thread(fetch_config_maps, access)
    loaded = load_config_maps(items)
    assert sorted(loaded.specs) == ["acme__leaderboards", "globex__nightly"]
    assert loaded.specs["globex__nightly"].paused is True
    assert loaded.problems == []

    scoped = await asyncio.to_thread(fetch_config_maps, access, ["tenant-globex"])
    assert [i["metadata"]["name"] for i in scoped] == ["pipeline-nightly"]

    requests = [r for r in list(kmock._requests) if r.url.path.endswith("/configmaps")]
    assert requests and all(r.params.get("labelSelector") == "barista.dev/dag-spec=true" for r in requests)
    assert all(r.headers.get("Authorization") == "Bearer t0ken" for r in requests)
    assert {r.url.path for r in requests} == {"/api/v1/configmaps", "/api/v1/namespaces/tenant-globex/configmaps"}
