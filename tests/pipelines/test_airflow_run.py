"""``airflow dags test`` runs a spec'd pipeline for real: Airflow 3 (sqlite metadata DB), dbt on chdb, the scoring
batch, and the sync into the gateway's Postgres table — each in Airflow's own process, as in a cluster."""

from __future__ import annotations

import json
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from barista_gateway.storage import postgres_migrations
from tests.pipelines.airflow_helpers import airflow_cli, airflow_env, run
from tests.pipelines.conftest import DBT_PROJECT, make_spec, write_spec

pytestmark = pytest.mark.slow

SEED = r"""
import sys
from barista_core.backends import open_clickhouse
from barista_core.migrations import migrate_clickhouse
from barista_core.events.table import ensure_events_table
from tests.pipelines.conftest import Events

client = open_clickhouse(sys.argv[1])
ensure_events_table(client, "tenant_acme")
events = Events("acme")
for handle, followers in (("natgeo", 1000), ("nasa", 900), ("anna", 400)):
    events.profile("instagram", handle, int(followers * 0.8), days_ago=20)
    events.profile("instagram", handle, followers, category="travel", country="US")
for follower, name, count, following in (("meera.bakes", "Meera", 812, 430), ("user84729163", "", 2, 7400)):
    events.add("follower.snapshot", {"platform": "instagram", "handle": "anna", "follower_handle": follower,
                                     "follower_name": name, "follower_followers": count,
                                     "follower_following": following, "follower_posts": 0})
print("seeded", events.write(client, "tenant_acme"))
"""


def test_airflow_dags_test_runs_the_pipeline(tmp_path: Path, pg_url: str) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    spec = make_spec(retries=0, timeoutMinutes=10)  # models → score → publish (replace)
    spec["steps"][0]["dbt"]["exclude"] = ["test_type:data"]  # dbt's tests run in test_dbt.py; here: the models
    write_spec(specs, spec)
    chdb = f"chdb://{tmp_path / 'clickhouse'}"  # the child processes' own engine directory
    env = airflow_env(
        tmp_path / "airflow",
        BARISTA_PIPELINES_SPEC_DIR=str(specs),
        BARISTA_CLICKHOUSE_URL=chdb,
        BARISTA_POSTGRES_URL=pg_url,
        BARISTA_DBT_PROJECT_DIR=str(DBT_PROJECT),
        BARISTA_DBT_THREADS="2",
    )
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(postgres_migrations("acme")[0].sql)  # type: ignore[arg-type]
        conn.execute(
            "INSERT INTO tenant_acme.leaderboards (platform, dimension, creator_id, handle, rank, score) "
            "VALUES ('youtube', 'growth', 'youtube:stale', 'stale', 1, 0.5)"
        )
    with ThreadPoolExecutor(2) as pool:
        seeded = pool.submit(run, [sys.executable, "-c", SEED, chdb], env)
        migrated = pool.submit(run, [airflow_cli(), "db", "migrate"], env)
        for done in (seeded.result(), migrated.result()):
            assert done.returncode == 0, done.stderr[-3000:]

    done = run([airflow_cli(), "dags", "test", "acme__leaderboards"], env, timeout=300)

    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "dag_id=acme__leaderboards" in output and "state=success" in output
    with sqlite3.connect(tmp_path / "airflow" / "airflow.db") as meta:
        states = dict(meta.execute("SELECT task_id, state FROM task_instance WHERE dag_id = 'acme__leaderboards'"))
        summaries = {
            task: json.loads(value)
            for task, value in meta.execute(
                "SELECT task_id, value FROM xcom WHERE dag_id = 'acme__leaderboards' AND key = 'return_value'"
            )
        }
    assert states == {"models": "success", "score": "success", "publish": "success"}
    # each task's XCom is its runner's summary: the scoring batch scored the two followers of one creator
    assert (summaries["score"]["profiles"], summaries["score"]["creators"]) == (2, 1)
    assert summaries["publish"]["rows"] == 12 and summaries["publish"]["target"] == "tenant_acme.leaderboards"
    assert set(summaries["models"]["statuses"]) == {"success"} and summaries["models"]["nodes"] >= 8  # no tests
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT dimension, bucket, rank, handle, score FROM tenant_acme.leaderboards "
            "ORDER BY dimension, bucket, rank"
        ).fetchall()
    boards = {(d, b): [(r, h) for dd, bb, r, h, _ in rows if (dd, bb) == (d, b)] for d, b, *_ in rows}
    expected = [(1, "natgeo"), (2, "nasa"), (3, "anna")]
    assert boards == {
        ("category", "travel"): expected,
        ("country", "US"): expected,
        ("growth", ""): expected,
        ("platform", ""): expected,
    }  # the stale row is gone
