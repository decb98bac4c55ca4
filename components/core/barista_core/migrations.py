"""Versioned, idempotent schema migrations for PostgreSQL and ClickHouse.

Each component owns a list of :class:`Migration` (append-only: never edit an applied one). Applying
is safe from several replicas at once: Postgres takes an advisory lock per component, ClickHouse
migrations must be written idempotently (``IF NOT EXISTS``) and are recorded after they succeed.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from barista_core.logging import get_logger

log = get_logger(__name__)
_LOCK_KEY = zlib.crc32(b"barista:migrations")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str  # one or more statements; for ClickHouse separated by ";\n"


def _check(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise ValueError(f"migration versions must be unique and ascending: {versions}")


async def migrate_postgres(pool: AsyncConnectionPool, component: str, migrations: Sequence[Migration]) -> list[int]:
    """Apply the pending ``migrations`` of ``component``; returns the versions applied now."""
    _check(migrations)
    applied_now: list[int] = []
    async with pool.connection() as conn, conn.transaction():
        # one lock for every component: even CREATE ... IF NOT EXISTS races between transactions
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        await conn.execute("CREATE SCHEMA IF NOT EXISTS barista")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS barista.schema_migrations ("
            " component text NOT NULL, version integer NOT NULL, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))"
        )
        cursor = await conn.execute("SELECT version FROM barista.schema_migrations WHERE component = %s", (component,))
        done = {row[0] for row in await cursor.fetchall()}
        for migration in migrations:
            if migration.version in done:
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO barista.schema_migrations (component, version, name) VALUES (%s, %s, %s)",
                (component, migration.version, migration.name),
            )
            applied_now.append(migration.version)
    if applied_now:
        log.info("postgres migrations applied", component=component, versions=applied_now)
    return applied_now


def migrate_clickhouse(client: object, database: str, component: str, migrations: Sequence[Migration]) -> list[int]:
    """Apply pending ClickHouse ``migrations`` in ``database`` (statements must be idempotent)."""
    _check(migrations)
    run = client.command  # type: ignore[attr-defined]
    run(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    run(
        f"CREATE TABLE IF NOT EXISTS `{database}`.schema_migrations (component String, version UInt32, "
        "name String, applied_at DateTime64(3) DEFAULT now64(3)) ENGINE = ReplacingMergeTree "
        "ORDER BY (component, version)"
    )
    result = client.query(  # type: ignore[attr-defined]
        f"SELECT version FROM `{database}`.schema_migrations FINAL WHERE component = {{c:String}}",
        parameters={"c": component},
    )
    done = {row[0] for row in result.result_rows}
    applied_now: list[int] = []
    for migration in migrations:
        if migration.version in done:
            continue
        for statement in (s.strip() for s in migration.sql.split(";\n")):
            if statement:
                run(statement.replace("{db}", f"`{database}`"))
        client.insert(  # type: ignore[attr-defined]
            f"`{database}`.schema_migrations",
            [[component, migration.version, migration.name]],
            column_names=["component", "version", "name"],
        )
        applied_now.append(migration.version)
    return applied_now


async def migrate_clickhouse_async(
    client: object, database: str, component: str, migrations: Sequence[Migration]
) -> list[int]:
    return await asyncio.to_thread(migrate_clickhouse, client, database, component, migrations)
