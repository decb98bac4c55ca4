"""Connectors by URL scheme: real servers, embedded backends, and one clear error when they fail."""

from __future__ import annotations

import pytest

from barista_core.backends import open_clickhouse, open_postgres, open_redis, postgres_conninfo, redis_url
from barista_core.backends.redis import EmbeddedRedis
from barista_core.errors import BackendError


def test_chdb_client_runs_sql(clickhouse, ch_database):
    clickhouse.command(f"CREATE TABLE {ch_database}.t (id UInt64, v String) ENGINE = MergeTree ORDER BY id")
    clickhouse.insert(f"{ch_database}.t", [[1, "a"], [2, "b"]], column_names=["id", "v"])
    assert clickhouse.query(f"SELECT sum(id) FROM {ch_database}.t").result_rows == [(3,)]


def test_chdb_clients_are_shared_per_directory(chdb_url):
    assert open_clickhouse(chdb_url) is open_clickhouse(chdb_url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://h/db", "unknown ClickHouse URL scheme 'mysql'"),
        ("chdb://relative/dir", "chdb URLs need an absolute path"),
        ("clickhouse://default:pw@127.0.0.1:1/default", "cannot connect to ClickHouse"),
    ],
)
def test_clickhouse_errors_name_the_masked_url(url, message):
    with pytest.raises(BackendError) as info:
        open_clickhouse(url, connect_timeout=1)
    assert message in str(info.value)
    assert "pw" not in str(info.value)


async def test_postgres_pool_talks_to_the_server(pg_url):
    pool = await open_postgres(pg_url)
    try:
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT current_database()")).fetchone()
        assert row[0] == pg_url.rsplit("/", 1)[1]
    finally:
        await pool.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u:secret@127.0.0.1:1/db", "postgresql://u:***@127.0.0.1:1/db: cannot connect to PostgreSQL"),
        ("mongodb://h/db", "unknown PostgreSQL URL scheme 'mongodb'"),
        ("pgserver://relative", "pgserver URLs need an absolute path"),
    ],
)
async def test_postgres_errors_name_the_masked_url(url, message):
    with pytest.raises(BackendError) as info:
        await open_postgres(url, timeout=2)
    assert message in str(info.value)
    assert "secret" not in str(info.value)


async def test_embedded_postgres_starts_answers_and_stops(shared_tmp):
    from barista_core.backends.postgres import stop_embedded_postgres

    url = f"pgserver://{shared_tmp / 'pg'}"
    try:
        assert postgres_conninfo(url) == postgres_conninfo(url)  # one server per directory
        pool = await open_postgres(url)
        async with pool.connection() as conn:
            version = (await (await conn.execute("SHOW server_version")).fetchone())[0]
        await pool.close()
        assert version.startswith("16.")
    finally:
        stop_embedded_postgres()


async def test_redis_client_round_trip(redis_url, redis_prefix):
    client = await open_redis(redis_url)
    try:
        await client.set(redis_prefix + "k", "v")
        assert await client.get(redis_prefix + "k") == b"v"
    finally:
        await client.aclose()


async def test_embedded_redis_persists_across_restarts(tmp_path):
    server = EmbeddedRedis(str(tmp_path / "r"))
    server.start()
    try:
        client = await open_redis(server.url)
        await client.set("k", "kept")
        await client.aclose()
    finally:
        server.stop()
    server.start()
    try:
        client = await open_redis(server.url)
        assert await client.get("k") == b"kept"
        await client.aclose()
    finally:
        server.stop()


async def test_embedded_redis_by_url(tmp_path):
    from barista_core.backends.redis import stop_embedded_redis

    url = f"redis+embedded://{tmp_path / 'r2'}"
    try:
        assert redis_url(url).startswith("unix://")
        client = await open_redis(url)
        assert await client.ping()
        await client.aclose()
    finally:
        stop_embedded_redis()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://:hunter2@127.0.0.1:1/0", "redis://:***@127.0.0.1:1/0: cannot connect to Redis"),
        ("memcached://h", "unknown Redis URL scheme 'memcached'"),
    ],
)
async def test_redis_errors_name_the_masked_url(url, message):
    with pytest.raises(BackendError) as info:
        await open_redis(url, timeout=1)
    assert message in str(info.value)
    assert "hunter2" not in str(info.value)


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="only root hands PostgreSQL to the pgserver user")
async def test_embedded_postgres_in_an_unreachable_directory_is_one_clear_error(tmp_path):
    with pytest.raises(BackendError, match="cannot enter .* choose a data directory"):
        postgres_conninfo(f"pgserver://{tmp_path / 'pg'}")
