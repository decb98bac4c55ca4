"""Step runners: what an Airflow task runs, and what ``barista up`` runs in-process — the same functions.

They know nothing of Airflow: :func:`run_step` takes a :class:`RunContext` (tenant, backend URLs,
where the dbt project is, the scorer) and one step of a DAG spec; :func:`run_pipeline` runs a whole
spec in plan order in this process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from barista_core.logging import get_logger
from barista_core.urls import local_path_of, scheme_of
from barista_pipelines.plan import plan
from barista_pipelines.runners.dbt import DbtStepError, run_dbt
from barista_pipelines.runners.score import Batch, ScoreStepError, resolve_batch, run_score
from barista_pipelines.runners.sync import SyncError, sync_table
from barista_pipelines.settings import PipelinesSettings, resolve_dbt_project
from barista_pipelines.spec import DagSpec, DbtStep, ScoreStep, Step, SyncStep

log = get_logger(__name__)

__all__ = [
    "DbtStepError",
    "PipelineRunError",
    "RunContext",
    "ScoreStepError",
    "StepResult",
    "SyncError",
    "clickhouse_client",
    "run_pipeline",
    "run_step",
]


@dataclass(frozen=True, kw_only=True)
class RunContext:
    """Where a tenant's steps run. ``clickhouse_database``/``postgres_schema`` override the tenant's (tests)."""

    tenant: str
    clickhouse_url: str
    postgres_url: str | None = None
    dbt_project: Path | None = None
    dbt_threads: int = 4
    dbt_work_dir: Path | None = None
    dbt_quiet: bool = False
    scorer: Batch | None = None
    scorer_reference: str | None = None
    sync_batch_rows: int = 10_000
    clickhouse_database: str | None = None
    postgres_schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, tenant: str, settings: PipelinesSettings, **overrides: Any) -> RunContext:
        values: dict[str, Any] = {
            "tenant": tenant,
            "clickhouse_url": settings.require_clickhouse(),
            "postgres_url": settings.postgres_url.get_secret_value() if settings.postgres_url else None,
            "dbt_project": settings.dbt_project_dir,
            "dbt_threads": settings.dbt_threads,
            "dbt_work_dir": settings.pipelines_work_dir / tenant if settings.pipelines_work_dir else None,
            "scorer_reference": settings.pipelines_scorer,
            "sync_batch_rows": settings.pipelines_sync_batch_rows,
        }
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class StepResult:
    name: str
    type: str
    summary: dict[str, Any]
    seconds: float


class PipelineRunError(RuntimeError):
    """A step of an in-process run failed; ``results`` holds the steps that finished before it."""

    def __init__(self, step: str, cause: BaseException, results: list[StepResult]) -> None:
        self.step = step
        self.results = results
        super().__init__(f"step {step!r} failed: {cause}")


@contextmanager
def clickhouse_client(url: str) -> Iterator[Any]:
    """A client of its own for one step (on chdb: a new handle on the process's engine), closed afterwards."""
    import clickhouse_connect

    from barista_core.backends import open_clickhouse

    if scheme_of(url) == "chdb":
        import os

        client = clickhouse_connect.get_client(dsn=f"chdb://{os.path.realpath(local_path_of(url))}")
    else:
        client = open_clickhouse(url)
    try:
        yield client
    finally:
        client.close()


def run_step(ctx: RunContext, step: Step) -> StepResult:
    """Run one step of ``ctx.tenant``'s pipeline; raises the runner's error when it fails."""
    started = time.monotonic()
    config = step.config
    log.info("step starting", tenant=ctx.tenant, step=step.name, type=step.type)
    if isinstance(config, DbtStep):
        outcome = run_dbt(
            config,
            tenant=ctx.tenant,
            clickhouse_url=ctx.clickhouse_url,
            project_dir=ctx.dbt_project or resolve_dbt_project(),
            threads=ctx.dbt_threads,
            quiet=ctx.dbt_quiet,
            work_dir=ctx.dbt_work_dir,
            database=ctx.clickhouse_database,
        )
        summary = outcome.summary()
    elif isinstance(config, ScoreStep):
        batch = ctx.scorer or resolve_batch(ctx.scorer_reference)
        with clickhouse_client(ctx.clickhouse_url) as client:
            score = run_score(
                config, tenant=ctx.tenant, clickhouse=client, batch=batch, database=ctx.clickhouse_database
            )
        summary = score.summary()
    else:
        assert isinstance(config, SyncStep)
        from barista_core.backends import postgres_conninfo
        from barista_core.errors import ConfigError

        if not ctx.postgres_url:
            raise ConfigError("BARISTA_POSTGRES_URL is required to run sync steps")
        with clickhouse_client(ctx.clickhouse_url) as client:
            sync = sync_table(
                config,
                tenant=ctx.tenant,
                clickhouse=client,
                postgres=postgres_conninfo(ctx.postgres_url),
                batch_rows=ctx.sync_batch_rows,
                database=ctx.clickhouse_database,
                schema=ctx.postgres_schema,
            )
        summary = sync.summary()
    return StepResult(name=step.name, type=step.type, summary=summary, seconds=time.monotonic() - started)


def run_pipeline(
    spec: DagSpec,
    ctx: RunContext,
    *,
    steps: set[str] | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> list[StepResult]:
    """Run ``spec`` (or only ``steps`` of it) in plan order in this process, stopping at the first failure."""
    if ctx.tenant != spec.tenant:
        raise ValueError(f"context is for tenant {ctx.tenant!r}, the spec for {spec.tenant!r}")
    results: list[StepResult] = []
    for step in plan(spec).order:
        if steps is not None and step.name not in steps:
            continue
        try:
            result = run_step(ctx, step)
        except Exception as exc:
            raise PipelineRunError(step.name, exc, results) from exc
        results.append(result)
        if on_step is not None:
            on_step(result)
    return results
