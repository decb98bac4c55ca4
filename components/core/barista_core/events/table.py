"""The events table every tenant's ClickHouse database holds: its columns and versioned migrations.

Written by the ingest sinkers, read by dbt (``dbt/``), the pipelines' demo and the scoring batch. One
definition, so they cannot drift apart.
"""

from __future__ import annotations

from barista_core.migrations import Migration, migrate_clickhouse

#: (name, ClickHouse type) of the columns an insert fills, in insert order
EVENT_COLUMNS = (
    ("tenant", "LowCardinality(String)"),
    ("event_id", "String"),
    ("event_type", "LowCardinality(String)"),
    ("occurred_at", "DateTime64(3, 'UTC')"),
    ("received_at", "DateTime64(3, 'UTC')"),
    ("user_id", "String"),
    ("session_id", "String"),
    ("device_id", "String"),
    ("properties", "String"),
    ("context", "String"),
)
EVENT_COLUMN_NAMES = [name for name, _ in EVENT_COLUMNS]
EVENT_COLUMN_TYPES = [kind for _, kind in EVENT_COLUMNS]
#: the retention of a table made by :func:`ensure_events_table` without one (a Sink sets its own)
DEFAULT_TTL_DAYS = 365


def ensure_events_table(
    client: object, database: str, table: str = "events", ttl_days: int = DEFAULT_TTL_DAYS
) -> list[int]:
    """Bring ``database``.``table`` up to the latest migration; the versions applied now."""
    return migrate_clickhouse(client, database, f"ingest.{table}", events_table_migrations(table, ttl_days))


def events_table_migrations(table: str, ttl_days: int) -> list[Migration]:
    """The versioned migrations of one events table (append-only: never edit an applied one)."""
    return [
        Migration(
            1,
            f"create {table}",
            f"""
            CREATE TABLE IF NOT EXISTS {{db}}.`{table}` (
                tenant LowCardinality(String),
                event_id String,
                event_type LowCardinality(String),
                occurred_at DateTime64(3, 'UTC'),
                received_at DateTime64(3, 'UTC'),
                user_id String,
                session_id String,
                device_id String,
                properties String CODEC(ZSTD(1)),
                context String CODEC(ZSTD(1)),
                inserted_at DateTime64(3, 'UTC') DEFAULT now64(3),
                props JSON ALIAS CAST(properties, 'JSON'),
                INDEX event_id_bloom event_id TYPE bloom_filter(0.01) GRANULARITY 4,
                INDEX user_id_bloom user_id TYPE bloom_filter(0.01) GRANULARITY 4
            )
            ENGINE = ReplacingMergeTree
            PARTITION BY toYYYYMM(occurred_at)
            ORDER BY (tenant, event_type, occurred_at, event_id)
            TTL toDateTime(occurred_at) + INTERVAL {int(ttl_days)} DAY
            SETTINGS non_replicated_deduplication_window = 10000
            """,
        ),
    ]
