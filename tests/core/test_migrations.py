from __future__ import annotations

import pytest

from barista_core.backends import open_postgres
from barista_core.migrations import Migration, migrate_clickhouse, migrate_postgres


async def test_postgres_migrations_apply_in_order_once(pg_url):
    pool = await open_postgres(pg_url)
    try:
        first = [Migration(1, "t", "CREATE TABLE barista.t (id int)")]
        assert await migrate_postgres(pool, "demo", first) == [1]
        both = [*first, Migration(2, "col", "ALTER TABLE barista.t ADD COLUMN v text")]
        assert await migrate_postgres(pool, "demo", both) == [2]
        assert await migrate_postgres(pool, "demo", both) == []
    finally:
        await pool.close()


async def test_failed_postgres_migration_leaves_nothing_half_applied(pg_url):
    pool = await open_postgres(pg_url)
    try:
        broken = [
            Migration(1, "ok", "CREATE TABLE barista.ok (id int)"),
            Migration(2, "broken", "CREATE TABLE barista.broken (id nonexistent_type)"),
        ]
        with pytest.raises(Exception, match="nonexistent_type"):
            await migrate_postgres(pool, "demo", broken)
        async with pool.connection() as conn:
            exists = await (await conn.execute("SELECT to_regclass('barista.ok')")).fetchone()
        assert exists == (None,)
    finally:
        await pool.close()


def test_out_of_order_versions_are_refused():
    with pytest.raises(ValueError, match="unique and ascending"):
        migrate_clickhouse(None, "db", "x", [Migration(2, "b", ""), Migration(1, "a", "")])


def test_clickhouse_migrations_apply_once(clickhouse, ch_database):
    migrations = [Migration(1, "t", "CREATE TABLE IF NOT EXISTS {db}.t (id UInt64) ENGINE = MergeTree ORDER BY id")]
    assert migrate_clickhouse(clickhouse, ch_database, "demo", migrations) == [1]
    assert migrate_clickhouse(clickhouse, ch_database, "demo", migrations) == []
    assert clickhouse.query(f"EXISTS TABLE {ch_database}.t").result_rows == [(1,)]
