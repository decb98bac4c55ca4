"""Pipelines inside ``barista up``: the step runner in-process instead of Airflow.

``start`` parses the dbt project in a background thread (importing dbt and parsing take most of a
run's time), so the demo — the leaderboard pipeline over whatever events the demo tenant has, once —
only builds. The demo publishes to ``leaderboards_preview`` in the tenant's schema, not to the
gateway's ``leaderboards`` serving table, whose demo rows it would otherwise replace with boards
built from the ingest demo's synthetic events.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from barista_core.dataplane import DataPlane, Service
from barista_core.logging import get_logger
from barista_core.naming import tenant_schema
from barista_pipelines.runners import PipelineRunError, RunContext, StepResult, run_pipeline
from barista_pipelines.spec import DAG_SPEC_FORMAT, DagSpec, DbtStep

log = get_logger(__name__)

DEMO_TENANT = "demo"
DEMO_PIPELINE = "leaderboards"
PREVIEW_TABLE = "leaderboards_preview"
DEMO_SELECT = ["tag:leaderboard"]
#: the demo builds models only: dbt's data tests run in every real pipeline (and in the test suite)
DEMO_EXCLUDE = ["test_type:data"]
_STATE = "pipelines"


def service() -> Service:
    # last: the demo reads what the other demos wrote (dbt's warm-up overlaps their demos)
    return Service(name="pipelines", start=_start, demo=_demo, order=95)


def demo_spec(tenant: str, *, score: bool = False) -> DagSpec:
    """The leaderboard pipeline the demo runs: models → (score →) publish to the preview table."""
    steps: list[dict[str, Any]] = [
        {"name": "models", "type": "dbt", "dbt": {"select": DEMO_SELECT, "exclude": DEMO_EXCLUDE}},
    ]
    if score:
        steps.append({"name": "score", "type": "score", "after": ["models"], "score": {"since": "24h"}})
    steps.append(
        {
            "name": "publish",
            "type": "sync",
            "after": [steps[-1]["name"]],
            "sync": {
                "source": "mart_leaderboards",
                "target": PREVIEW_TABLE,
                "key": ["platform", "dimension", "creator_id"],
                "mode": "replace",
            },
        }
    )
    return DagSpec.model_validate(
        {
            "format": DAG_SPEC_FORMAT,
            "dagId": f"{tenant}__{DEMO_PIPELINE}",
            "tenant": tenant,
            "pipeline": DEMO_PIPELINE,
            "namespace": f"tenant-{tenant}",
            "schedule": "@hourly",
            "retries": 0,
            "timeoutMinutes": 10,
            "steps": steps,
        }
    )


def _context(plane: DataPlane, tenant: str) -> RunContext:
    return RunContext(
        tenant=tenant,
        clickhouse_url=plane.clickhouse_url,
        postgres_url=plane.postgres_url,
        dbt_work_dir=Path(plane.data_dir) / "pipelines" / "dbt" / tenant,
        dbt_quiet=True,
        dbt_threads=2,
    )


def _warm(ctx: RunContext, done: threading.Event, errors: list[BaseException]) -> None:
    """Import dbt and parse the project with the demo build's profile and vars (a later build reuses it)."""
    from barista_pipelines.runners.dbt import run_dbt
    from barista_pipelines.settings import resolve_dbt_project

    try:
        run_dbt(
            DbtStep(select=DEMO_SELECT, exclude=DEMO_EXCLUDE),
            command="parse",
            tenant=ctx.tenant,
            clickhouse_url=ctx.clickhouse_url,
            project_dir=resolve_dbt_project(),
            threads=ctx.dbt_threads,
            quiet=True,
            work_dir=ctx.dbt_work_dir,
        )
    except BaseException as exc:  # reported by the demo
        errors.append(exc)
    finally:
        done.set()


@asynccontextmanager
async def _start(plane: DataPlane) -> AsyncIterator[None]:
    tenant = plane.shared.get("demo_tenant", DEMO_TENANT)
    ctx = _context(plane, tenant)
    done, errors = threading.Event(), []  # type: ignore[var-annotated]
    thread = threading.Thread(target=_warm, args=(ctx, done, errors), name="barista-dbt-warm-up", daemon=True)
    thread.start()
    plane.shared[_STATE] = {"ctx": ctx, "warm": done, "errors": errors}
    plane.endpoints.append(("pipelines", "in-process step runner (Airflow in a cluster); make pipelines-demo"))
    try:
        yield
    finally:
        await asyncio.to_thread(thread.join, 60)


async def _demo(plane: DataPlane) -> list[str]:
    state = plane.shared[_STATE]
    ctx: RunContext = state["ctx"]
    started = time.monotonic()
    await asyncio.to_thread(state["warm"].wait, 120)
    waited = time.monotonic() - started
    if state["errors"]:
        return [f"dbt could not parse the project: {state['errors'][0]}"]
    tenant = plane.shared.get("demo_tenant", DEMO_TENANT)
    if tenant != ctx.tenant:  # another service picked the demo tenant after we started
        ctx = _context(plane, tenant)
    spec = demo_spec(ctx.tenant)
    try:
        results = await asyncio.to_thread(run_pipeline, spec, ctx)
    except PipelineRunError as exc:
        return [f"pipeline {spec.dag_id} failed: {exc}"]
    top = await _top_rows(plane, ctx.tenant)
    line = _summary(spec, results, time.monotonic() - started) + f" (of which {waited:.1f} s waiting for dbt's warm-up)"
    return [line, *top]


def _summary(spec: DagSpec, results: list[StepResult], seconds: float) -> str:
    parts = []
    for result in results:
        if result.type == "dbt":
            parts.append(f"{result.name} (dbt: {result.summary['nodes']} nodes)")
        elif result.type == "sync":
            parts.append(f"{result.name} ({result.summary['rows']} rows → {result.summary['target']})")
        else:
            parts.append(f"{result.name} ({result.summary.get('scored', 0)} followers scored)")
    return f"ran {spec.dag_id} in-process in {seconds:.1f} s: " + " → ".join(parts)


async def _top_rows(plane: DataPlane, tenant: str) -> list[str]:
    from psycopg import sql

    query = sql.SQL(
        "SELECT dimension, bucket, rank, platform, handle, score FROM {}.{} "
        "WHERE dimension = 'platform' ORDER BY rank, platform, creator_id LIMIT 3"
    ).format(sql.Identifier(tenant_schema(tenant)), sql.Identifier(PREVIEW_TABLE))
    async with plane.postgres.connection() as conn:
        rows = await (await conn.execute(query)).fetchall()
    if not rows:
        return ["  (no creators yet: send profile.snapshot events, e.g. `barista send`, and run `make pipelines-demo`)"]
    return [f"  #{rank} {platform}/{handle}: {score:,.0f} followers" for _, _, rank, platform, handle, score in rows]
