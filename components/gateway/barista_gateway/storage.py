"""Where the tenant API reads and writes: per-tenant PostgreSQL schemas and ClickHouse databases.

PostgreSQL, schema ``tenant_<name>`` (:func:`barista_core.naming.tenant_schema`), versioned
migrations of component ``gateway:<tenant>``, applied on a tenant's first request:

- ``profiles`` — the discovery serving table, one row per (platform, handle): creator id, display
  name, bio, category, country (ISO 3166-1 alpha-2), language (ISO 639-1), followers, following,
  posts, engagement rate, fake-follower share (0..1), 30-day follower growth, verified, updated_at;
  a generated ``search`` tsvector over handle, name and bio. Filled by the pipelines' sync step
  (``target: profiles``, ``key: [platform, handle]``) from the dbt marts.
- ``leaderboards`` — ranked creators per ``dimension`` (platform | category | country | growth) and
  ``bucket`` (the category / country value; '' for platform and growth), key
  ``(platform, dimension, creator_id)``; filled by the sync step ``target: leaderboards``.
- ``collections`` / ``collection_items`` — the tenant's own watchlists (written by this API).

Every write to these tables sends ``NOTIFY barista_tenant_data, '<tenant>'`` (statement triggers),
which the invalidation bus turns into ``data:<tenant>``: cached answers of the tenant are dropped on
every replica, whoever wrote.

ClickHouse, database ``tenant_<name>`` (:func:`barista_core.naming.tenant_database`):

- ``profile_snapshots`` (platform, handle, observed_at, followers, following, posts,
  engagement_rate, event_id) — one row per scraped ``profile.snapshot`` event, filled by the
  pipelines (dbt) from the tenant's ``events`` table; ReplacingMergeTree ordered by
  (platform, handle, observed_at). ``/timeseries`` aggregates it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from barista_core.migrations import Migration, migrate_clickhouse, migrate_postgres
from barista_core.naming import tenant_database, tenant_schema

PLATFORMS = ("instagram", "youtube", "tiktok", "twitter", "twitch")
DIMENSIONS = ("platform", "category", "country", "growth")

_POSTGRES_V1 = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE {schema}.profiles (
    platform             text NOT NULL CHECK (platform IN ('instagram', 'youtube', 'tiktok', 'twitter', 'twitch')),
    handle               text NOT NULL CHECK (handle ~ '^[A-Za-z0-9._-]{{1,64}}$'),
    creator_id           text NOT NULL,
    display_name         text NOT NULL DEFAULT '',
    bio                  text NOT NULL DEFAULT '',
    category             text,
    country              text CHECK (country ~ '^[A-Z]{{2}}$'),
    language             text CHECK (language ~ '^[a-z]{{2}}$'),
    followers            bigint NOT NULL DEFAULT 0 CHECK (followers >= 0),
    following            bigint NOT NULL DEFAULT 0,
    posts                bigint NOT NULL DEFAULT 0,
    engagement_rate      double precision,
    fake_follower_share  double precision CHECK (fake_follower_share BETWEEN 0 AND 1),
    followers_growth_30d double precision,
    verified             boolean NOT NULL DEFAULT false,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    search               tsvector GENERATED ALWAYS AS (
                             to_tsvector('simple', handle || ' ' || display_name || ' ' || bio)) STORED,
    PRIMARY KEY (platform, handle)
);
CREATE INDEX profiles_followers ON {schema}.profiles (followers DESC, platform DESC, handle DESC);
CREATE INDEX profiles_category ON {schema}.profiles (category);
CREATE INDEX profiles_country ON {schema}.profiles (country);
CREATE INDEX profiles_search ON {schema}.profiles USING gin (search);
CREATE TABLE {schema}.leaderboards (
    platform        text NOT NULL,
    dimension       text NOT NULL CHECK (dimension IN ('platform', 'category', 'country', 'growth')),
    bucket          text NOT NULL DEFAULT '',
    creator_id      text NOT NULL,
    handle          text NOT NULL,
    display_name    text NOT NULL DEFAULT '',
    rank            integer NOT NULL CHECK (rank >= 1),
    score           double precision NOT NULL,
    followers       bigint NOT NULL DEFAULT 0,
    engagement_rate double precision,
    growth_30d      double precision,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, dimension, creator_id)
);
CREATE INDEX leaderboards_rank ON {schema}.leaderboards (dimension, bucket, rank, platform, creator_id);
CREATE TABLE {schema}.collections (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {schema}.collection_items (
    collection_id uuid NOT NULL REFERENCES {schema}.collections (id) ON DELETE CASCADE,
    platform      text NOT NULL,
    handle        text NOT NULL,
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    added_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection_id, platform, handle)
);
CREATE FUNCTION {schema}.notify_data() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('barista_tenant_data', {tenant});
    RETURN NULL;
END $$;
CREATE TRIGGER profiles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {schema}.profiles
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_data();
CREATE TRIGGER leaderboards_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {schema}.leaderboards
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_data();
CREATE TRIGGER collections_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {schema}.collections
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_data();
CREATE TRIGGER collection_items_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {schema}.collection_items
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_data();
"""

_CLICKHOUSE_V1 = """
CREATE TABLE IF NOT EXISTS {db}.profile_snapshots (
    platform LowCardinality(String),
    handle String,
    observed_at DateTime64(3, 'UTC'),
    followers UInt64,
    following UInt64,
    posts UInt64,
    engagement_rate Float64,
    event_id String DEFAULT ''
) ENGINE = ReplacingMergeTree ORDER BY (platform, handle, observed_at)
"""


def postgres_migrations(tenant: str) -> list[Migration]:
    schema = sql.Identifier(tenant_schema(tenant)).as_string(None)
    tenant_literal = sql.Literal(tenant).as_string(None)
    return [Migration(1, "serving tables", _POSTGRES_V1.format(schema=schema, tenant=tenant_literal))]


CLICKHOUSE_MIGRATIONS = [Migration(1, "profile snapshots", _CLICKHOUSE_V1)]


class TenantStores:
    """Makes sure a tenant's schema and database exist (once per process per tenant).

    The ClickHouse client is opened on first use: only time series need it, and with chdb that
    spares the serving process an in-process database engine until then.
    """

    def __init__(self, postgres: AsyncConnectionPool, clickhouse: Any = None, *, clickhouse_url: str = "") -> None:
        self.postgres = postgres
        self._clickhouse = clickhouse
        self._clickhouse_url = clickhouse_url
        self.clickhouse_lock = asyncio.Lock()  # one query at a time per client (chdb, sessions)
        self._pg_ready: dict[str, asyncio.Future[None]] = {}
        self._ch_ready: dict[str, asyncio.Future[None]] = {}

    async def schema(self, tenant: str) -> sql.Identifier:
        await self._once(self._pg_ready, tenant, self._migrate_postgres)
        return sql.Identifier(tenant_schema(tenant))

    async def database(self, tenant: str) -> str:
        await self._once(self._ch_ready, tenant, self._migrate_clickhouse)
        return tenant_database(tenant)

    async def _migrate_postgres(self, tenant: str) -> None:
        await migrate_postgres(self.postgres, f"gateway:{tenant}", postgres_migrations(tenant))

    async def clickhouse(self) -> Any:
        """The ClickHouse client, opened on first use (call with ``clickhouse_lock`` held)."""
        if self._clickhouse is None:
            from barista_core.backends import open_clickhouse

            self._clickhouse = await asyncio.to_thread(open_clickhouse, self._clickhouse_url)
        return self._clickhouse

    async def _migrate_clickhouse(self, tenant: str) -> None:
        async with self.clickhouse_lock:
            client = await self.clickhouse()
            await asyncio.to_thread(
                migrate_clickhouse, client, tenant_database(tenant), "gateway", CLICKHOUSE_MIGRATIONS
            )

    @staticmethod
    async def _once(done: dict[str, asyncio.Future[None]], tenant: str, run: Any) -> None:
        future = done.get(tenant)
        if future is None:
            future = done[tenant] = asyncio.get_running_loop().create_future()
            try:
                await run(tenant)
            except BaseException as exc:
                del done[tenant]
                future.set_exception(exc)
                future.exception()
                raise
            future.set_result(None)
            return
        await asyncio.shield(future)

    async def query_clickhouse(self, query: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        async with self.clickhouse_lock:
            client = await self.clickhouse()
            result = await asyncio.to_thread(client.query, query, parameters=parameters)
        return [tuple(row) for row in result.result_rows]

    async def insert_clickhouse(self, table: str, rows: list[list[Any]], column_names: list[str]) -> None:
        async with self.clickhouse_lock:
            client = await self.clickhouse()
            await asyncio.to_thread(client.insert, table, rows, column_names=column_names)
