"""DAG spec → Airflow 3 DAG. One task per step (:class:`BaristaStepOperator`), dependencies from ``after``.

- ``schedule``: the spec's cron / @-shortcut; a paused (suspended) spec gets no schedule, so no new
  runs start while runs in flight finish — this survives Airflow's own pause flag (which a spec
  cannot set after the DAG first appeared). DAGs are created unpaused: a Pipeline runs without a
  click in the UI.
- ``retries`` per task (exponential backoff from one minute), ``timeoutMinutes`` as the run's
  ``dagrun_timeout`` and each task's ``execution_timeout``; one active run per pipeline, no catch-up.
- Tasks run the transport-neutral runners (:mod:`barista_pipelines.runners`) with settings from the
  environment (``BARISTA_CLICKHOUSE_URL``, ``BARISTA_POSTGRES_URL``, …); a task's XCom is its summary.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, BaseOperator

from barista_pipelines.plan import plan
from barista_pipelines.spec import DagSpec, Step

START_DATE = datetime(2025, 1, 1, tzinfo=UTC)
RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(minutes=15)
_COLOURS = {"dbt": "#ff694b", "score": "#b388ff", "sync": "#4fc3f7"}


class BaristaStepOperator(BaseOperator):
    """Runs one step of a Barista pipeline for its tenant. Nothing is templated: specs are data."""

    template_fields = ()
    ui_color = "#ffffff"

    def __init__(self, *, tenant: str, step: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tenant = tenant
        self.step = step

    def execute(self, context: Any) -> dict[str, Any]:
        from barista_pipelines.runners import RunContext, run_step
        from barista_pipelines.settings import PipelinesSettings

        step = Step.model_validate(self.step)
        result = run_step(RunContext.from_settings(self.tenant, PipelinesSettings.load()), step)
        return {"step": result.name, "type": result.type, "seconds": round(result.seconds, 2), **result.summary}


def describe(spec: DagSpec) -> str:
    lines = [f"Barista pipeline **{spec.pipeline}** of tenant **{spec.tenant}** (namespace `{spec.namespace}`).", ""]
    if spec.paused:
        lines += ["*Suspended*: no scheduled runs until the Pipeline's `suspend` is false.", ""]
    for step in plan(spec).order:
        after = f" after {', '.join(step.after)}" if step.after else ""
        lines.append(f"- `{step.name}` ({step.type}{after}): `{step.config.model_dump_json(by_alias=True)}`")
    return "\n".join(lines)


def build_dag(spec: DagSpec) -> DAG:
    """The Airflow DAG for ``spec`` (the spec must have been parsed: it plans)."""
    stages = plan(spec)
    dag = DAG(
        dag_id=spec.dag_id,
        description=f"{spec.tenant}/{spec.pipeline}: " + " → ".join(s.name for s in stages.order),
        schedule=None if spec.paused else spec.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=spec.timeout,
        is_paused_upon_creation=False,
        tags=sorted({"barista", f"tenant:{spec.tenant}", *(["suspended"] if spec.paused else [])}),
        doc_md=describe(spec),
        default_args={
            "owner": spec.tenant,
            "retries": spec.retries,
            "retry_delay": RETRY_DELAY,
            "retry_exponential_backoff": True,
            "max_retry_delay": MAX_RETRY_DELAY,
            "execution_timeout": spec.timeout,
        },
    )
    tasks: dict[str, BaristaStepOperator] = {}
    for step in stages.order:
        task = BaristaStepOperator(
            task_id=step.name,
            tenant=spec.tenant,
            step=step.model_dump(mode="json", by_alias=True, exclude_none=True),
            dag=dag,
        )
        task.ui_color = _COLOURS[step.type]
        tasks[step.name] = task
    for step in stages.order:
        for upstream in step.after:
            tasks[upstream] >> tasks[step.name]
    return dag


def build_dags(specs: Iterable[DagSpec]) -> dict[str, DAG]:
    return {spec.dag_id: build_dag(spec) for spec in specs}
