"""DAG spec parsing and planning: the operator's rendering is the input, errors are specific."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from barista_core.plans import Plan
from barista_operator.api import PipelineSpec
from barista_operator.builders.common import Images, Platform, ResourceContext, TenantInfo
from barista_operator.builders.pipeline import DAG_SPEC_KEY, build_pipeline
from barista_pipelines.plan import PlanError, plan
from barista_pipelines.sources import content_hash
from barista_pipelines.spec import DbtStep, ScoreStep, SpecError, SyncStep, parse_duration, parse_spec
from tests.pipelines.conftest import ROOT, make_spec


def rendered(spec_yaml: dict[str, Any], *, tenant: str = "acme", suspended: bool = False) -> dict[str, Any]:
    """The ConfigMap the operator's builder makes for a Pipeline (its own code, not a copy)."""
    ctx = ResourceContext(
        name="leaderboards",
        namespace=f"tenant-{tenant}",
        uid=None,
        tenant=TenantInfo(name=tenant, plan=Plan.SAAS, suspended=suspended),
        platform=Platform(images=Images(ingest="i", worker="w", gateway="g", scoring="s")),
    )
    (config_map,) = build_pipeline(PipelineSpec.model_validate(spec_yaml), ctx)
    return config_map


def example() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "examples" / "pipeline-leaderboards.yaml").read_text())["spec"]


def test_the_operators_rendering_of_the_example_pipeline_parses() -> None:
    config_map = rendered(example())
    text = config_map["data"][DAG_SPEC_KEY]
    spec = parse_spec(text)
    assert spec.dag_id == "acme__leaderboards" and spec.tenant == "acme" and spec.namespace == "tenant-acme"
    assert (spec.schedule, spec.retries, spec.timeout, spec.paused) == ("0 * * * *", 2, timedelta(minutes=60), False)
    models, score, publish = spec.steps
    assert isinstance(models.config, DbtStep) and models.config.select == ["tag:leaderboard"]
    assert models.config.vars == {"lookback_days": 30}
    assert isinstance(score.config, ScoreStep) and score.config.window == timedelta(hours=24)
    assert isinstance(publish.config, SyncStep)
    assert (publish.config.target, publish.config.key, publish.config.mode) == (
        "leaderboards",
        ["platform", "dimension", "creator_id"],
        "replace",
    )
    assert [s.name for s in plan(spec).order] == ["models", "score", "publish"]
    # the factory checks the operator's content hash the same way the operator computes it
    assert config_map["metadata"]["annotations"]["barista.dev/content-hash"] == content_hash(text)


def test_a_suspended_tenant_renders_a_paused_spec() -> None:
    assert parse_spec(rendered(example(), suspended=True)["data"][DAG_SPEC_KEY]).paused is True


def test_every_field_the_operator_can_render_is_understood() -> None:
    spec = example()
    spec["steps"][0]["dbt"].update(exclude=["tag:slow"], fullRefresh=True, vars={"a": {"b": [1, 2]}})
    spec["steps"].append(
        {
            "name": "profiles",
            "after": ["models", "score"],
            "sync": {
                "source": "mart_creator_profiles",
                "target": "profiles",
                "key": ["platform", "handle"],
                "mode": "upsert",
            },
        }
    )
    spec.update(schedule="@daily", retries=0, timeoutMinutes=1440, suspend=True)
    parsed = parse_spec(rendered(spec)["data"][DAG_SPEC_KEY])
    assert parsed.paused and parsed.schedule == "@daily" and parsed.retries == 0
    assert parsed.steps[0].config == DbtStep(
        select=["tag:leaderboard"], exclude=["tag:slow"], full_refresh=True, vars={"a": {"b": [1, 2]}}
    )
    assert [[s.name for s in stage] for stage in plan(parsed).stages] == [
        ["models"],
        ["score"],
        ["publish", "profiles"],
    ]


def test_stages_group_independent_steps_and_keep_spec_order() -> None:
    spec = make_spec(
        steps=[
            {"name": "c", "type": "score", "after": ["a", "b"], "score": {}},
            {"name": "b", "type": "dbt", "dbt": {}},
            {"name": "a", "type": "dbt", "dbt": {}},
            {"name": "d", "type": "score", "after": ["b"], "score": {}},
        ]
    )
    result = plan(parse_spec(spec))
    assert [[s.name for s in stage] for stage in result.stages] == [["b", "a"], ["c", "d"]]
    assert result.upstream("c") == {"a", "b"} and result.upstream("b") == set()


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [
                {"name": "a", "type": "dbt", "after": ["b"], "dbt": {}},
                {"name": "b", "type": "dbt", "after": ["a"], "dbt": {}},
            ],
            "steps form a cycle: a → b → a",
        ),
        (
            [
                {"name": "a", "type": "dbt", "dbt": {}},
                {"name": "b", "type": "dbt", "after": ["c"], "dbt": {}},
                {"name": "c", "type": "dbt", "after": ["d"], "dbt": {}},
                {"name": "d", "type": "dbt", "after": ["b"], "dbt": {}},
            ],
            "steps form a cycle: b → c → d → b",
        ),
        ([{"name": "a", "type": "dbt", "after": ["a"], "dbt": {}}], "steps[0]: a step cannot run after itself"),
        ([{"name": "a", "type": "dbt", "after": ["ghost"], "dbt": {}}], "(a).after names unknown steps: ghost"),
        (
            [{"name": "a", "type": "dbt", "dbt": {}}, {"name": "a", "type": "dbt", "dbt": {}}],
            "step names must be unique: a",
        ),
    ],
)
def test_unorderable_steps_are_rejected_with_the_reason(steps: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(make_spec(steps=steps), source="cm tenant-acme/pipeline-x")
    assert message in str(info.value)
    assert str(info.value).startswith("cm tenant-acme/pipeline-x: invalid DAG spec")


def test_plan_rejects_a_cycle_even_on_an_unvalidated_spec() -> None:
    spec = parse_spec(make_spec())
    looped = spec.model_copy(
        update={"steps": [s.model_copy(update={"after": ["publish"]}) if s.name == "models" else s for s in spec.steps]}
    )
    with pytest.raises(PlanError, match="cycle: models → publish → score → models"):
        plan(looped)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "barista.dev/dag-spec/v2"}, "format: unsupported format 'barista.dev/dag-spec/v2'"),
        ({"dagId": "other__x"}, "dagId must be acme__leaderboards"),
        ({"schedule": "every hour"}, "schedule 'every hour' is neither"),
        ({"retries": 11}, "retries: Input should be less than or equal to 10"),
        ({"timeoutMinutes": 0}, "timeoutMinutes: Input should be greater than or equal to 1"),
        ({"tenant": "Acme", "dagId": "Acme__leaderboards"}, "tenant: String should match pattern"),
        ({"surprise": 1}, "surprise: unknown field"),
        ({"steps": []}, "steps: List should have at least 1 item"),
    ],
)
def test_bad_top_level_fields_are_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match="invalid DAG spec") as info:
        parse_spec(make_spec(**change))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            {"name": "s", "type": "dbt", "score": {}},
            "steps[0]: a dbt step needs exactly the 'dbt' object (has: ['score'])",
        ),
        (
            {"name": "s", "type": "sync", "sync": {"source": "mart", "target": "t; DROP TABLE x", "key": ["id"]}},
            "steps[0].sync.target: String should match pattern",
        ),
        (
            {"name": "s", "type": "sync", "sync": {"source": "mart", "target": "t", "key": []}},
            "steps[0].sync.key: List should have at least 1 item",
        ),
        (
            {"name": "s", "type": "sync", "sync": {"source": "mart", "target": "t", "key": ["a", "a"]}},
            "key columns must be unique",
        ),
        (
            {"name": "s", "type": "sync", "sync": {"source": "m", "target": "t", "key": ["a"], "mode": "merge"}},
            "steps[0].sync.mode: Input should be 'replace' or 'upsert'",
        ),
        ({"name": "s", "type": "score", "score": {"since": "30s"}}, "since must be at least 1m"),
        ({"name": "s", "type": "score", "score": {"since": "1 day"}}, "is not a duration"),
        ({"name": "s", "type": "dbt", "dbt": {"select": ["tag:x; rm -rf /"]}}, "steps[0].dbt.select[0]"),
        ({"name": "s", "type": "dbt", "dbt": {"selects": []}}, "steps[0].dbt.selects: unknown field"),
        ({"name": "Bad_Name", "type": "dbt", "dbt": {}}, "steps[0].name: String should match pattern"),
        ({"name": "s", "type": "shell", "dbt": {}}, "steps[0].type: Input should be 'dbt', 'score' or 'sync'"),
    ],
)
def test_bad_steps_are_named_with_their_path(step: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(make_spec(steps=[step]))
    assert message in str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(make_spec(retries=-1, schedule="", steps=[{"name": "a", "type": "dbt"}]))
    fields = {p.split(":")[0] for p in info.value.problems}
    assert {"retries", "schedule", "steps[0]"} <= fields


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", b"\xff\xfe", "null"])
def test_non_objects_are_rejected(data: str | bytes) -> None:
    with pytest.raises(SpecError, match="not JSON|expected a JSON object"):
        parse_spec(data)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("1h30m", 5400), ("1.5h", 5400), ("250ms", 0.25)]
)
def test_durations_follow_the_crd_syntax(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_a_spec_round_trips_through_json(tmp_path: Path) -> None:
    from barista_pipelines.spec import spec_to_json

    spec = parse_spec(make_spec())
    assert parse_spec(spec_to_json(spec)) == spec
    assert json.loads(spec_to_json(spec))["timeoutMinutes"] == 60
