"""Demo data for ``barista up``: a tenant, its API key and a handful of creators with history.

The rows stand in for what the pipelines (dbt + sync) produce in a real installation.
"""

from __future__ import annotations

import datetime
import math
import os
from pathlib import Path

from psycopg import sql

from barista_core import registry
from barista_core.auth.apikeys import ApiKey, generate_api_key, parse_api_key
from barista_core.plans import Plan, effective_features, effective_limits
from barista_gateway.gateway import Gateway

DEMO_TENANT = "demo"

# platform, handle, display name, category, country, language, followers, engagement, fake share, growth 30d
CREATORS = [
    ("instagram", "natgeo", "National Geographic", "travel", "US", "en", 283_000_000, 0.0031, 0.06, 0.004),
    ("instagram", "nasa", "NASA", "science", "US", "en", 97_000_000, 0.0102, 0.04, 0.011),
    ("youtube", "mkbhd", "Marques Brownlee", "tech", "US", "en", 19_800_000, 0.0410, 0.02, 0.009),
    ("youtube", "kurzgesagt", "Kurzgesagt - In a Nutshell", "science", "DE", "en", 23_500_000, 0.0520, 0.01, 0.013),
    ("instagram", "priyankachopra", "Priyanka Chopra Jonas", "entertainment", "IN", "en", 92_000_000, 0.0080, 0.11,
     0.002),
    ("youtube", "technicalguruji", "Technical Guruji", "tech", "IN", "hi", 23_900_000, 0.0230, 0.09, 0.005),
    ("instagram", "cookingwithanna", "Anna Cooks", "food", "IN", "en", 412_000, 0.0610, 0.18, 0.041),
    ("instagram", "trailrunner.jo", "Jo on Trails", "travel", "GB", "en", 58_300, 0.0870, 0.03, 0.067),
]  # fmt: skip


def _key_file(data_dir: Path) -> Path:
    return data_dir / "gateway" / "demo-api-key"


async def demo_tenant(gateway: Gateway, data_dir: Path, *, shared_key: str | None = None,
                      tenant: str = DEMO_TENANT) -> ApiKey:  # fmt: skip
    """The demo tenant (plan PAID, every feature) and an API key for it.

    Uses the key another service of ``barista up`` already made (``shared_key``), else the one kept in
    the data directory from an earlier run, else a new one.
    """
    pool = gateway.postgres
    assert pool is not None
    if await registry.get_tenant(pool, tenant) is None:
        await registry.upsert_tenant(
            pool,
            registry.TenantRecord(name=tenant, display_name="Demo", plan=Plan.PAID,
                                  limits=effective_limits(Plan.PAID), features=effective_features(Plan.PAID)),
        )  # fmt: skip
    path = _key_file(data_dir)
    kept = path.read_text().strip() if path.exists() else None
    for candidate in (shared_key, kept):
        key = parse_api_key(candidate) if candidate else None
        if key is not None:
            record = await registry.find_api_key(pool, key.key_id)
            if record is not None and not record.revoked and record.tenant == tenant:
                break
    else:
        key = generate_api_key()
        await registry.register_api_key(pool, tenant, key, label="barista up demo")
    if key.token != kept:  # `barista token` reads it from here
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key.token)
    return key


async def seed_creators(gateway: Gateway, tenant: str = DEMO_TENANT) -> int:
    """Profiles, leaderboards and 60 days of snapshots, once (an existing table is left alone)."""
    schema = await gateway.stores.schema(tenant)
    database = await gateway.stores.database(tenant)
    pool = gateway.postgres
    assert pool is not None
    async with pool.connection() as conn:
        cur = await conn.execute(sql.SQL("SELECT count(*) FROM {}.profiles").format(schema))
        (existing,) = await cur.fetchone()  # type: ignore[misc]
        if existing:
            return 0
        for platform, handle, display, category, country, language, followers, er, fake, growth in CREATORS:
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {}.profiles (platform, handle, creator_id, display_name, bio, category, country, "
                    "language, followers, following, posts, engagement_rate, fake_follower_share, "
                    "followers_growth_30d, verified) VALUES (" + ", ".join(["%s"] * 15) + ")"
                ).format(schema),
                (platform, handle, f"{platform}:{handle}", display, f"{display} — {category}", category, country,
                 language, followers, 300 + len(handle) * 7, 1_000 + len(handle) * 131, er, fake, growth,
                 followers > 1_000_000),
            )  # fmt: skip
        boards: list[tuple[str, str, str, str, str, str, float, int, float, float]] = []
        for dimension, bucket_of in (("platform", lambda c: ""), ("category", lambda c: c[3]),
                                     ("country", lambda c: c[4]), ("growth", lambda c: "")):  # fmt: skip
            groups: dict[tuple[str, str], list[tuple]] = {}
            for creator in CREATORS:
                groups.setdefault((creator[0], bucket_of(creator)), []).append(creator)
            for (platform, bucket), members in groups.items():
                key = (lambda c: c[9]) if dimension == "growth" else (lambda c: c[6])
                for creator in sorted(members, key=key, reverse=True):
                    boards.append((platform, dimension, bucket, f"{platform}:{creator[1]}", creator[1], creator[2],
                                   float(key(creator)), creator[6], creator[7], creator[9]))  # fmt: skip
        ranks: dict[tuple[str, str, str], int] = {}
        for platform, dimension, bucket, creator_id, handle, display, score, followers, er, growth in boards:
            rank = ranks[(platform, dimension, bucket)] = ranks.get((platform, dimension, bucket), 0) + 1
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {}.leaderboards (platform, dimension, bucket, creator_id, handle, display_name, rank,"
                    " score, followers, engagement_rate, growth_30d) VALUES (" + ", ".join(["%s"] * 11) + ")"
                ).format(schema),
                (platform, dimension, bucket, creator_id, handle, display, rank, score, followers, er, growth),
            )
    today = datetime.datetime.now(datetime.UTC).replace(hour=12, minute=0, second=0, microsecond=0, tzinfo=None)
    rows = []
    for platform, handle, _, _, _, _, followers, er, _, growth in CREATORS:
        for day in range(60, -1, -1):
            factor = 1 - growth * day / 30
            wobble = 1 + 0.15 * math.sin(day / 3 + len(handle))
            rows.append([platform, handle, today - datetime.timedelta(days=day), int(followers * factor), 0, 0,
                         er * wobble])  # fmt: skip
    await gateway.stores.insert_clickhouse(
        f"`{database}`.profile_snapshots",
        rows,
        column_names=["platform", "handle", "observed_at", "followers", "following", "posts", "engagement_rate"],
    )
    return len(CREATORS)
