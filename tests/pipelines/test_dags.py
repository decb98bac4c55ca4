"""Airflow's DagBag loads the chart's DAG file, which hands over the factory's DAGs (real Airflow 3, own process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pipelines.airflow_helpers import load_dagbag
from tests.pipelines.conftest import CHART_DAG_FILE, make_spec, write_spec

pytestmark = pytest.mark.slow


def test_dagbag_builds_one_dag_per_spec_as_specified(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    write_spec(specs, make_spec())
    write_spec(
        specs,
        make_spec(
            tenant="globex",
            pipeline="nightly",
            schedule="@daily",
            retries=0,
            timeoutMinutes=15,
            paused=True,
            steps=[
                {"name": "stage", "type": "dbt", "dbt": {"select": ["tag:profiles"], "vars": {"lookback_days": 7}}},
                {"name": "score", "type": "score", "score": {"since": "6h"}},
                {
                    "name": "profiles",
                    "type": "sync",
                    "after": ["stage", "score"],
                    "sync": {
                        "source": "mart_creator_profiles",
                        "target": "profiles",
                        "key": ["platform", "handle"],
                        "mode": "upsert",
                    },
                },
            ],
        ),
    )
    broken = make_spec(
        tenant="initech",
        pipeline="loop",
        steps=[
            {"name": "a", "type": "dbt", "after": ["b"], "dbt": {}},
            {"name": "b", "type": "dbt", "after": ["a"], "dbt": {}},
        ],
    )
    write_spec(specs, broken)
    (specs / "not-a-spec.json").write_text("{oops")

    bag = load_dagbag(tmp_path / "airflow", specs)

    assert bag["import_errors"] == {}
    assert sorted(bag["dags"]) == ["acme__leaderboards", "globex__nightly"]
    assert len(bag["spec_problems"]) == 2
    assert any("initech__loop" in p and "cycle: a → b → a" in p for p in bag["spec_problems"])
    assert any("not-a-spec.json" in p and "not JSON" in p for p in bag["spec_problems"])

    acme = bag["dags"]["acme__leaderboards"]
    assert acme["fileloc"] == str(CHART_DAG_FILE)
    assert (acme["schedule"], acme["timetable"]) == ("0 * * * *", "CronTriggerTimetable")
    assert (acme["catchup"], acme["max_active_runs"], acme["dagrun_timeout"]) == (False, 1, 3600)
    assert acme["paused_upon_creation"] is False
    assert acme["tags"] == ["barista", "tenant:acme"]
    tasks = acme["tasks"]
    assert {name: t["upstream"] for name, t in tasks.items()} == {
        "models": [],
        "score": ["models"],
        "publish": ["score"],
    }
    for task in tasks.values():
        assert task["operator"] == "BaristaStepOperator"
        assert (task["retries"], task["execution_timeout"], task["exponential_backoff"]) == (2, 3600, True)
        assert (task["tenant"], task["owner"]) == ("acme", "acme")
    assert tasks["publish"]["step"]["sync"] == {
        "source": "mart_leaderboards",
        "target": "leaderboards",
        "key": ["platform", "dimension", "creator_id"],
        "mode": "replace",
    }

    globex = bag["dags"]["globex__nightly"]
    assert globex["schedule"] is None  # suspended: no new runs; runs in flight finish
    assert "suspended" in globex["tags"]
    assert globex["dagrun_timeout"] == 900
    assert {name: t["upstream"] for name, t in globex["tasks"].items()} == {
        "stage": [],
        "score": [],
        "profiles": ["score", "stage"],
    }
    assert all(t["retries"] == 0 and t["execution_timeout"] == 900 for t in globex["tasks"].values())
    assert globex["tasks"]["stage"]["step"]["dbt"]["vars"] == {"lookback_days": 7}


def test_configmaps_of_the_wrong_namespace_or_hash_never_become_dags(tmp_path: Path) -> None:
    """The same checks apply to ConfigMaps fetched from the API; here the factory reads a directory too."""
    from barista_pipelines.sources import content_hash, load_config_maps

    def config_map(spec: dict, namespace: str, *, hash_of: str | None = None) -> dict:
        text = json.dumps(spec)
        return {
            "metadata": {
                "name": "pipeline-x",
                "namespace": namespace,
                "labels": {"barista.dev/dag-spec": "true"},
                "annotations": {"barista.dev/content-hash": content_hash(hash_of or text)},
            },
            "data": {"dag-spec.json": text},
        }

    loaded = load_config_maps(
        [
            config_map(make_spec(), "tenant-acme"),
            config_map(make_spec(tenant="globex", pipeline="p"), "tenant-acme"),  # acme writing a DAG for globex
            config_map(make_spec(tenant="initech", pipeline="p"), "tenant-initech", hash_of="edited by hand"),
            {"metadata": {"name": "other", "namespace": "tenant-acme", "labels": {}}, "data": {}},  # not a spec
        ]
    )
    assert list(loaded.specs) == ["acme__leaderboards"]
    assert len(loaded.problems) == 2
    assert "must live in tenant-globex" in loaded.problems[0].message
    assert "content-hash does not match" in loaded.problems[1].message
