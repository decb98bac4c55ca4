"""A whole pipeline in-process (what ``barista up`` runs): events → dbt → real scoring batch → sync into the
gateway's serving tables, then read back through the gateway's own query functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from barista_core.backends import open_postgres
from barista_core.migrations import migrate_clickhouse, migrate_postgres
from barista_gateway.models import Dimension, ProfileSort
from barista_gateway.services.leaderboards import leaderboard
from barista_gateway.services.profiles import ProfileFilters, search_profiles
from barista_gateway.storage import CLICKHOUSE_MIGRATIONS, postgres_migrations
from barista_pipelines.runners import PipelineRunError, RunContext, run_pipeline
from barista_pipelines.runners.score import ScorerUnavailable, resolve_batch
from barista_pipelines.spec import parse_spec
from tests.pipelines.conftest import DBT_PROJECT, Events, make_spec

pytestmark = pytest.mark.slow
TENANT = "acme"


def pipeline() -> dict[str, Any]:
    return make_spec(
        retries=0,
        steps=[
            {"name": "models", "type": "dbt", "dbt": {"select": ["tag:leaderboard", "tag:profiles"]}},
            {"name": "score", "type": "score", "after": ["models"], "score": {"since": "24h"}},
            {
                "name": "shares",
                "type": "dbt",
                "after": ["score"],
                "dbt": {"select": ["stg_scoring__creator_fake_shares+"]},
            },
            {
                "name": "publish",
                "type": "sync",
                "after": ["shares"],
                "sync": {
                    "source": "mart_leaderboards",
                    "target": "leaderboards",
                    "key": ["platform", "dimension", "creator_id"],
                    "mode": "replace",
                },
            },
            {
                "name": "profiles",
                "type": "sync",
                "after": ["shares"],
                "sync": {
                    "source": "mart_creator_profiles",
                    "target": "profiles",
                    "key": ["platform", "handle"],
                    "mode": "upsert",
                },
            },
        ],
    )


async def test_events_become_the_gateways_leaderboards_and_profiles(
    clickhouse: Any, events_table: str, pg_url: str, chdb_url: str, tmp_path: Path
) -> None:
    database = events_table
    # the gateway's serving tables (Postgres) and its ClickHouse profile_snapshots exist first, as in a cluster
    pool = await open_postgres(pg_url)
    try:
        await migrate_postgres(pool, f"gateway:{TENANT}", postgres_migrations(TENANT))
        migrate_clickhouse(clickhouse, database, "gateway", CLICKHOUSE_MIGRATIONS)
        events = Events(TENANT)
        for handle, followers, category, country in (
            ("natgeo", 1000, "travel", "US"),
            ("nasa", 900, "science", "US"),
            ("anna", 400, "food", "IN"),
        ):
            events.profile("instagram", handle, int(followers * 0.8), days_ago=20)
            events.profile(
                "instagram", handle, followers, category=category, country=country, display_name=handle.title()
            )
        for follower, name, count, following, posts in (
            ("meera.bakes", "Meera Iyer", 812, 430, 96),
            ("user84729163", "", 2, 7400, 0),
            ("x9q2z7k1", "", 0, 5100, 0),
            ("rahul_k", "Rahul Kumar", 240, 310, 41),
        ):
            events.add(
                "follower.snapshot",
                {
                    "platform": "instagram",
                    "handle": "anna",
                    "follower_handle": follower,
                    "follower_name": name,
                    "follower_followers": count,
                    "follower_following": following,
                    "follower_posts": posts,
                    "follower_has_picture": bool(name),
                },
            )
        events.write(clickhouse, database)

        spec = parse_spec(pipeline())
        ctx = RunContext(
            tenant=TENANT,
            clickhouse_url=chdb_url,
            postgres_url=pg_url,
            dbt_project=DBT_PROJECT,
            dbt_work_dir=tmp_path / "dbt",
            dbt_quiet=True,
            dbt_threads=2,
            clickhouse_database=database,
            scorer=resolve_batch(),
        )
        results = run_pipeline(spec, ctx)
        assert [r.name for r in results] == ["models", "score", "shares", "publish", "profiles"]
        score = results[1].summary
        assert (score["profiles"], score["creators"]) == (4, 1)
        assert score["fake"] + score["suspicious"] >= 2  # the two empty, follow-everyone accounts

        schema = sql.Identifier(f"tenant_{TENANT}")
        board = await leaderboard(pool, schema=schema, dimension=Dimension.PLATFORM, bucket=None, platform=None)
        assert [(e.rank, e.handle, e.score) for e in board.items] == [
            (1, "natgeo", 1000.0),
            (2, "nasa", 900.0),
            (3, "anna", 400.0),
        ]
        assert board.items[0].growth_30d == pytest.approx(0.25)
        food = await leaderboard(pool, schema=schema, dimension=Dimension.CATEGORY, bucket="food", platform=None)
        assert [e.handle for e in food.items] == ["anna"]
        page = await search_profiles(
            pool, schema=schema, filters=ProfileFilters(country="in"), sort=ProfileSort.FOLLOWERS
        )
        (anna,) = page.items
        assert (anna.handle, anna.creator_id, anna.display_name, anna.followers) == (
            "anna",
            "instagram:anna",
            "Anna",
            400,
        )
        assert anna.fake_follower_share == pytest.approx(score["fake"] / 4)  # the batch's share reached the mart
        found = await search_profiles(pool, schema=schema, filters=ProfileFilters(q="nat"))
        assert [p.handle for p in found.items] == ["natgeo"]  # the generated search column still works

        # the marts have exactly the serving tables' columns (the generated search column aside)
        async with pool.connection() as conn:
            for mart, table in (("mart_leaderboards", "leaderboards"), ("mart_creator_profiles", "profiles")):
                cursor = await conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                    "AND table_name = %s AND is_generated = 'NEVER'",
                    (f"tenant_{TENANT}", table),
                )
                serving = sorted(r[0] for r in await cursor.fetchall())
                columns = clickhouse.query(
                    "SELECT name FROM system.columns WHERE database = {d:String} AND table = {t:String}",
                    parameters={"d": database, "t": mart},
                ).result_rows
                assert sorted(r[0] for r in columns) == serving, mart

        # the gateway's /timeseries table was filled by dbt, in the gateway's own table
        rows = clickhouse.query(
            f"SELECT handle, count() FROM `{database}`.profile_snapshots FINAL GROUP BY handle ORDER BY handle"
        ).result_rows
        assert [tuple(r) for r in rows] == [("anna", 2), ("nasa", 2), ("natgeo", 2)]
    finally:
        await pool.close()


def test_a_failing_step_stops_the_run_and_says_which(chdb_url: str, ch_database: str, pg_url: str) -> None:
    spec = parse_spec(
        make_spec(
            steps=[
                {
                    "name": "publish",
                    "type": "sync",
                    "sync": {
                        "source": "mart_leaderboards",
                        "target": "leaderboards",
                        "key": ["platform"],
                        "mode": "replace",
                    },
                },
                {
                    "name": "after",
                    "type": "sync",
                    "after": ["publish"],
                    "sync": {"source": "x", "target": "y", "key": ["id"], "mode": "replace"},
                },
            ]
        )
    )
    ctx = RunContext(tenant=TENANT, clickhouse_url=chdb_url, postgres_url=pg_url, clickhouse_database=ch_database)
    with pytest.raises(
        PipelineRunError, match="step 'publish' failed: ClickHouse table .*mart_leaderboards does not exist"
    ) as info:
        run_pipeline(spec, ctx)
    assert info.value.results == []


def test_the_scorer_reference_is_resolved_or_refused() -> None:
    assert resolve_batch("barista_scoring.batch:run_batch").__name__ == "run_batch"
    with pytest.raises(ScorerUnavailable, match="must look like module:function"):
        resolve_batch("nonsense")
    with pytest.raises(ScorerUnavailable, match="cannot import 'no_such_module'"):
        resolve_batch("no_such_module:score")
    with pytest.raises(ScorerUnavailable, match="is not callable"):
        resolve_batch("barista_scoring.batch:SNAPSHOT_COLUMNS")
