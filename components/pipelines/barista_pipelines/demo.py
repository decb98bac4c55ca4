"""A self-contained run of the leaderboard pipeline (``make pipelines-demo``): embedded ClickHouse (chdb) and
PostgreSQL (pgserver) in a data directory, sample snapshot events, then dbt → (score →) sync in-process.

The events table is the one the ingest sinkers write (``barista_core.events.table``), filled directly, so
the demo needs neither ingest nor a broker.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from barista_core.events.table import EVENT_COLUMN_NAMES, ensure_events_table
from barista_core.naming import tenant_database, tenant_schema
from barista_pipelines.runners import RunContext, StepResult, run_pipeline
from barista_pipelines.runners.score import ScorerUnavailable, resolve_batch
from barista_pipelines.spec import DAG_SPEC_FORMAT, DagSpec

# platform, handle, display name, category, country, language, followers today, daily growth, interactions/post
CREATORS = [
    ("instagram", "natgeo", "National Geographic", "travel", "US", "en", 283_000_000, 0.0004, 880_000),
    ("instagram", "nasa", "NASA", "science", "US", "en", 97_000_000, 0.0011, 990_000),
    ("instagram", "priyankachopra", "Priyanka Chopra Jonas", "entertainment", "IN", "en", 92_000_000, 0.0002, 736_000),
    ("instagram", "cookingwithanna", "Anna Cooks", "food", "IN", "en", 412_000, 0.0041, 25_100),
    ("instagram", "trailrunner.jo", "Jo on Trails", "travel", "GB", "en", 58_300, 0.0067, 5_070),
    ("youtube", "mkbhd", "Marques Brownlee", "tech", "US", "en", 19_800_000, 0.0009, 812_000),
    ("youtube", "kurzgesagt", "Kurzgesagt - In a Nutshell", "science", "DE", "en", 23_500_000, 0.0013, 1_222_000),
    ("youtube", "technicalguruji", "Technical Guruji", "tech", "IN", "hi", 23_900_000, 0.0005, 550_000),
]
FOLLOWERS = [  # of cookingwithanna: handle, name, followers, following, posts
    ("meera.bakes", "Meera Iyer", 812, 430, 96),
    ("rahul_k", "Rahul Kumar", 240, 310, 41),
    ("user84729163", "", 2, 7_400, 0),
    ("x9q2z7k1", "", 0, 5_100, 0),
    ("ananya.travels", "Ananya", 1_950, 820, 233),
]


def sample_events(tenant: str, *, days: int = 45, now: datetime | None = None, seed: int = 7) -> list[list[Any]]:
    """Daily profile snapshots with growth, recent post snapshots and a few followers, as insert rows."""
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    rows: list[list[Any]] = []

    def event(event_type: str, at: datetime, key: str, properties: dict[str, Any]) -> None:
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"barista-demo/{event_type}/{key}/{at:%Y-%m-%d}"))
        rows.append([tenant, event_id, event_type, at, at, "", "", "", orjson.dumps(properties), b"{}"])

    for platform, handle, name, category, country, language, followers, growth, interactions in CREATORS:
        for day in range(days, -1, -1):
            at = now - timedelta(days=day, minutes=rng.randint(0, 600))
            count = int(followers / math.pow(1 + growth, day))
            event(
                "profile.snapshot",
                at,
                handle,
                {
                    "platform": platform,
                    "handle": handle,
                    "display_name": name,
                    "category": category,
                    "country": country,
                    "language": language,
                    "followers": count,
                    "following": 300 + len(handle),
                    "posts": 1_000 + 3 * (days - day),
                    "verified": followers > 1_000_000,
                    "bio": f"{name}: {category} from {country}",
                },
            )
        for index in range(6):
            at = now - timedelta(days=3 * index + 1)
            likes = int(interactions * rng.uniform(0.7, 1.3))
            event(
                "post.snapshot",
                at,
                f"{handle}-{index}",
                {
                    "platform": platform,
                    "post_id": f"{handle}-{index}",
                    "handle": handle,
                    "likes": likes,
                    "comments": likes // 40,
                    "posted_at": at.isoformat() + "Z",
                },
            )
    for follower, name, count, following, posts in FOLLOWERS:
        event(
            "follower.snapshot",
            now - timedelta(hours=2),
            follower,
            {
                "platform": "instagram",
                "handle": "cookingwithanna",
                "follower_handle": follower,
                "follower_name": name,
                "follower_followers": count,
                "follower_following": following,
                "follower_posts": posts,
                "follower_has_picture": bool(name),
            },
        )
    return rows


def demo_spec(tenant: str, *, score: bool) -> DagSpec:
    steps: list[dict[str, Any]] = [
        {"name": "models", "type": "dbt", "dbt": {"select": ["tag:leaderboard", "tag:profiles", "tag:scoring"]}},
    ]
    last = "models"
    if score:
        steps.append({"name": "score", "type": "score", "after": ["models"], "score": {"since": "24h"}})
        steps.append(
            {
                "name": "shares",
                "type": "dbt",
                "after": ["score"],
                "dbt": {"select": ["stg_scoring__creator_fake_shares+"]},
            }
        )
        last = "shares"
    steps += [
        {
            "name": "publish-leaderboards",
            "type": "sync",
            "after": [last],
            "sync": {
                "source": "mart_leaderboards",
                "target": "leaderboards",
                "key": ["platform", "dimension", "creator_id"],
                "mode": "replace",
            },
        },
        {
            "name": "publish-profiles",
            "type": "sync",
            "after": [last],
            "sync": {
                "source": "mart_creator_profiles",
                "target": "profiles",
                "key": ["platform", "handle"],
                "mode": "upsert",
            },
        },
    ]
    return DagSpec.model_validate(
        {
            "format": DAG_SPEC_FORMAT,
            "dagId": f"{tenant}__leaderboards",
            "tenant": tenant,
            "pipeline": "leaderboards",
            "namespace": f"tenant-{tenant}",
            "schedule": "@hourly",
            "retries": 0,
            "timeoutMinutes": 30,
            "steps": steps,
        }
    )


def run_demo(data_dir: Path, *, tenant: str = "demo", echo: Callable[[str], None] = print) -> list[StepResult]:
    """Seed sample events into ``data_dir``'s embedded ClickHouse, run the pipeline, print the boards."""
    import psycopg

    from barista_core.backends import open_clickhouse, postgres_conninfo

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    clickhouse_url, postgres_url = f"chdb://{data_dir / 'clickhouse'}", f"pgserver://{data_dir / 'postgres'}"
    started = time.monotonic()
    client = open_clickhouse(clickhouse_url)
    database = tenant_database(tenant)
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    ensure_events_table(client, database)
    client.command(f"TRUNCATE TABLE `{database}`.`events`")  # the demo's own data: fresh sample each run
    events = sample_events(tenant)
    client.insert(f"`{database}`.`events`", events, column_names=EVENT_COLUMN_NAMES)
    conninfo = postgres_conninfo(postgres_url)
    echo(f"ClickHouse (chdb) and PostgreSQL (pgserver) in {data_dir}; {len(events)} sample events")
    try:
        scorer = resolve_batch()
    except ScorerUnavailable as exc:
        scorer = None
        echo(f"no score step: {exc}")
    spec = demo_spec(tenant, score=scorer is not None)
    ctx = RunContext(
        tenant=tenant,
        clickhouse_url=clickhouse_url,
        postgres_url=postgres_url,
        scorer=scorer,
        dbt_work_dir=data_dir / "dbt" / tenant,
        dbt_quiet=True,
    )
    results = run_pipeline(
        spec, ctx, on_step=lambda r: echo(f"  ✓ {r.name} ({r.type}, {r.seconds:.1f} s): {_brief(r.summary)}")
    )
    with psycopg.connect(conninfo) as conn:
        schema = tenant_schema(tenant)
        for dimension, bucket in (("platform", ""), ("growth", ""), ("category", "science"), ("country", "IN")):
            rows = conn.execute(
                f'SELECT rank, platform, handle, score FROM "{schema}".leaderboards '
                "WHERE dimension = %s AND bucket = %s ORDER BY platform, rank LIMIT 6",
                (dimension, bucket),
            ).fetchall()
            shown = ", ".join(f"{p}#{r} {h} ({s:,.4g})" for r, p, h, s in rows)
            echo(f"  leaderboard {dimension}{'/' + bucket if bucket else ''}: {shown}")
        (profiles,) = conn.execute(f'SELECT count(*) FROM "{schema}".profiles').fetchone() or (0,)
        echo(f"  {profiles} creator profiles in {schema}.profiles")
        for handle, share in conn.execute(
            f'SELECT handle, fake_follower_share FROM "{schema}".profiles WHERE fake_follower_share IS NOT NULL'
        ).fetchall():
            echo(f"  {handle}: fake-follower share {share:.0%} (scored followers)")
    echo(f"pipeline {spec.dag_id} done in {time.monotonic() - started:.1f} s")
    return results


def _brief(summary: dict[str, Any]) -> str:
    keys = ("nodes", "statuses", "profiles", "creators", "fake", "suspicious", "rows", "changed", "target")
    return ", ".join(f"{k}={summary[k]}" for k in keys if k in summary)
