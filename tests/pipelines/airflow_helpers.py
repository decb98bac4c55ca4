"""Running real Airflow 3 in a child process: its configuration is read once per process at import, so each
test gets its own AIRFLOW_HOME (sqlite metadata DB) and never imports Airflow into the pytest process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.pipelines.conftest import CHART_DAG_FILE, ROOT

#: Loads the chart's DAG file with DagBag and prints what Airflow sees (and the serialised form works).
DAGBAG_SCRIPT = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization

bag = DagBag(dag_folder=sys.argv[1], include_examples=False)
out = {"import_errors": {str(k): str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in sorted(bag.dags.items()):
    DagSerialization.serialize_dag(dag)  # what the dag-processor stores for the scheduler
    out["dags"][dag_id] = {
        "schedule": dag.schedule if isinstance(dag.schedule, str) or dag.schedule is None else str(dag.schedule),
        "timetable": type(dag.timetable).__name__,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "dagrun_timeout": dag.dagrun_timeout.total_seconds() if dag.dagrun_timeout else None,
        "paused_upon_creation": dag.is_paused_upon_creation,
        "tags": sorted(dag.tags),
        "fileloc": dag.fileloc,
        "tasks": {
            t.task_id: {
                "operator": type(t).__name__,
                "upstream": sorted(t.upstream_task_ids),
                "retries": t.retries,
                "execution_timeout": t.execution_timeout.total_seconds() if t.execution_timeout else None,
                "exponential_backoff": bool(t.retry_exponential_backoff),
                "owner": t.owner,
                "tenant": getattr(t, "tenant", None),
                "step": getattr(t, "step", None),
            }
            for t in dag.tasks
        },
    }
factory = sys.modules.get("barista_pipelines.dags")
out["spec_problems"] = list(getattr(factory, "SPEC_PROBLEMS", []))
print("DAGBAG-JSON " + json.dumps(out))
"""


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__", "BARISTA_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(CHART_DAG_FILE.parent),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(home / "logs"),
        BARISTA_PIPELINES_KUBERNETES="false",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, cwd=env["AIRFLOW_HOME"])


def load_dagbag(home: Path, spec_dir: Path, **extra: str) -> dict[str, Any]:
    env = airflow_env(home, BARISTA_PIPELINES_SPEC_DIR=str(spec_dir), **extra)
    done = run(
        [sys.executable, "-W", "error::DeprecationWarning:barista_pipelines", "-c", DAGBAG_SCRIPT, str(CHART_DAG_FILE)],
        env,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("DAGBAG-JSON "))
    return json.loads(line.removeprefix("DAGBAG-JSON "))


def airflow_cli() -> str:
    return str(Path(sys.executable).with_name("airflow"))
