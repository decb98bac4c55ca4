"""Pipeline (namespaced): a scheduled DAG of dbt models, batch scoring and ClickHouse→Postgres syncs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from barista_operator.api.meta import (
    AGE_COLUMN,
    CRON_PATTERN,
    DNS_LABEL_PATTERN,
    DURATION_PATTERN,
    IDENTIFIER_PATTERN,
    PHASE_COLUMN,
    Condition,
    CrdModel,
    PrinterColumn,
    ResourceKind,
    conditions_field,
    kopf_state_field,
    name_rule,
)

PIPELINE_NAME_MAX = 50
MAX_STEPS = 50
PipelinePhase = Literal["Pending", "Ready", "Suspended", "Failed"]
Selector = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.:+*@/,-]+$")]


class DbtStep(CrdModel):
    """Run dbt models of Barista's dbt project."""

    select: Annotated[
        list[Selector],
        Field(default_factory=list, max_length=20, description="dbt selectors (e.g. tag:leaderboard); empty runs all."),
    ]
    exclude: Annotated[list[Selector], Field(default_factory=list, max_length=20, description="dbt exclusions.")]
    full_refresh: Annotated[bool, Field(default=False, description="Rebuild incremental models from scratch.")]
    vars: Annotated[
        dict[str, Any],
        Field(
            default_factory=dict,
            description="dbt variables passed with --vars.",
            json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
        ),
    ]


class ScoreStep(CrdModel):
    """Score followers seen in snapshots and refresh per-creator fake-follower shares."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "duration(self.since) >= duration('1m')",
                    "message": "since must be at least 1m",
                    "fieldPath": ".since",
                },
            ]
        }
    )

    since: Annotated[
        str,
        Field(
            default="24h",
            max_length=32,
            pattern=DURATION_PATTERN,
            description="Score followers snapshotted within this window.",
        ),
    ]


class SyncStep(CrdModel):
    """Copy a ClickHouse table (a mart) into a Postgres serving table."""

    source: Annotated[
        str, Field(max_length=63, pattern=IDENTIFIER_PATTERN, description="ClickHouse table in the tenant database.")
    ]
    target: Annotated[
        str, Field(max_length=63, pattern=IDENTIFIER_PATTERN, description="Postgres table in the tenant schema.")
    ]
    key: Annotated[
        list[Annotated[str, Field(max_length=63, pattern=IDENTIFIER_PATTERN)]],
        Field(min_length=1, max_length=10, description="Columns identifying a row (the Postgres primary key)."),
    ]
    mode: Annotated[
        Literal["replace", "upsert"],
        Field(default="replace", description="replace swaps the whole table atomically; upsert merges by key."),
    ]


class Step(CrdModel):
    """One task of the pipeline: exactly one of dbt, score or sync."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "(has(self.dbt) ? 1 : 0) + (has(self.score) ? 1 : 0) + (has(self.sync) ? 1 : 0) == 1",
                    "message": "a step needs exactly one of dbt, score or sync",
                    "reason": "FieldValueInvalid",
                },
                {
                    "rule": "!has(self.after) || !(self.name in self.after)",
                    "message": "a step cannot run after itself",
                    "fieldPath": ".after",
                },
            ]
        }
    )

    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=63,
            pattern=DNS_LABEL_PATTERN,
            description="Step name, unique in the pipeline (a DNS label).",
        ),
    ]
    after: Annotated[
        list[Annotated[str, Field(max_length=63)]],
        Field(default_factory=list, max_length=MAX_STEPS, description="Steps that must succeed before this one."),
    ]
    dbt: Annotated[DbtStep | None, Field(default=None, description=DbtStep.__doc__)]
    score: Annotated[ScoreStep | None, Field(default=None, description=ScoreStep.__doc__)]
    sync: Annotated[SyncStep | None, Field(default=None, description=SyncStep.__doc__)]


class PipelineSpec(CrdModel):
    """Desired state of a Pipeline."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.steps.all(s, self.steps.exists_one(t, t.name == s.name))",
                    "message": "step names must be unique",
                    "fieldPath": ".steps",
                    "reason": "FieldValueDuplicate",
                },
                {
                    "rule": "self.steps.all(s, !has(s.after) || s.after.all(a, self.steps.exists(t, t.name == a)))",
                    "message": "after must name steps of this pipeline",
                    "fieldPath": ".steps",
                },
            ]
        }
    )

    schedule: Annotated[
        str, Field(max_length=128, pattern=CRON_PATTERN, description="Cron expression or @hourly / @daily / @weekly.")
    ]
    steps: Annotated[
        list[Step], Field(min_length=1, max_length=MAX_STEPS, description="Tasks; dependencies by after, no cycles.")
    ]
    retries: Annotated[int, Field(default=2, ge=0, le=10, description="Retries per failed step.")]
    timeout_minutes: Annotated[int, Field(default=60, ge=1, le=1_440, description="Limit for one whole run.")]
    suspend: Annotated[bool, Field(default=False, description="Pause scheduling; running runs finish.")]


class PipelineRun(CrdModel):
    """The most recent run."""

    id: Annotated[str | None, Field(default=None, description="Airflow run id.")]
    state: Annotated[str | None, Field(default=None, description="queued, running, success or failed.")]
    started_at: Annotated[
        str | None, Field(default=None, description="When it started.", json_schema_extra={"format": "date-time"})
    ]
    finished_at: Annotated[
        str | None, Field(default=None, description="When it finished.", json_schema_extra={"format": "date-time"})
    ]


class PipelineStatus(CrdModel):
    """Observed state of a Pipeline."""

    observed_generation: Annotated[
        int | None, Field(default=None, ge=0, description="The .metadata.generation this status describes.")
    ]
    phase: Annotated[PipelinePhase | None, Field(default=None, description="Summary of the pipeline's state.")]
    dag_id: Annotated[str | None, Field(default=None, description="Airflow DAG id.")]
    config_map: Annotated[str | None, Field(default=None, description="ConfigMap holding the rendered DAG spec.")]
    step_count: Annotated[int | None, Field(default=None, ge=0, description="Number of steps.")]
    last_run: Annotated[PipelineRun | None, Field(default=None, description=PipelineRun.__doc__)]
    conditions: Annotated[list[Condition], conditions_field()]
    kopf: Annotated[dict[str, Any] | None, kopf_state_field()]


PIPELINE = ResourceKind(
    kind="Pipeline",
    plural="pipelines",
    singular="pipeline",
    short_names=("bpl",),
    namespaced=True,
    description="A scheduled DAG of dbt models, batch scoring and ClickHouse-to-Postgres syncs, run by "
    "Airflow through Barista's DAG factory.",
    spec_model=PipelineSpec,
    status_model=PipelineStatus,
    printer_columns=(
        PrinterColumn(name="Schedule", json_path=".spec.schedule", description="When it runs"),
        PrinterColumn(name="Steps", json_path=".status.stepCount", type="integer", description="Steps"),
        PHASE_COLUMN,
        PrinterColumn(name="Last run", json_path=".status.lastRun.state", description="State of the last run"),
        AGE_COLUMN,
    ),
    name_max_length=PIPELINE_NAME_MAX,
    root_rules=(name_rule("Pipeline", PIPELINE_NAME_MAX),),
)
