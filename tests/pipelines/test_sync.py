"""The sync step against the real PostgreSQL and chdb: replace (atomic swap) and upsert, into the gateway's tables."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from barista_gateway.storage import postgres_migrations
from barista_pipelines.runners.sync import SyncError, sync_table
from barista_pipelines.spec import SyncStep

TENANT = "acme"
SCHEMA = "tenant_acme"
LEADERBOARD_COLUMNS = (
    "platform String, dimension String, bucket String, creator_id String, handle String, "
    "display_name String, rank UInt32, score Float64, followers UInt64, "
    "engagement_rate Nullable(Float64), growth_30d Nullable(Float64), updated_at DateTime64(3, 'UTC')"
)
BOARDS = SyncStep(source="mart_leaderboards", target="leaderboards", key=["platform", "dimension", "creator_id"])


def board_rows(count: int, *, score_base: float = 1000.0, prefix: str = "c") -> list[list[Any]]:
    now = datetime(2026, 1, 2, 3, 4, 5)
    return [
        [
            "instagram",
            "platform",
            "",
            f"instagram:{prefix}{i}",
            f"{prefix}{i}",
            f"Creator {i}",
            i + 1,
            score_base - i,
            int(score_base) - i,
            0.01 * (i % 7) if i % 3 else None,
            None,
            now,
        ]
        for i in range(count)
    ]


@pytest.fixture
def gateway_schema(pg_url: str) -> str:
    """The tenant's serving tables exactly as the gateway's migration creates them."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(postgres_migrations(TENANT)[0].sql)  # type: ignore[arg-type]
    return pg_url


@pytest.fixture
def mart(clickhouse: Any, ch_database: str) -> Any:
    def make(rows: list[list[Any]], *, engine: str = "ReplacingMergeTree", table: str = "mart_leaderboards") -> None:
        clickhouse.command(f"DROP TABLE IF EXISTS `{ch_database}`.`{table}`")
        clickhouse.command(
            f"CREATE TABLE `{ch_database}`.`{table}` ({LEADERBOARD_COLUMNS}) ENGINE = {engine} "
            "ORDER BY (platform, dimension, creator_id)"
        )
        if rows:
            clickhouse.insert(
                f"`{ch_database}`.`{table}`",
                rows,
                column_names=[
                    "platform",
                    "dimension",
                    "bucket",
                    "creator_id",
                    "handle",
                    "display_name",
                    "rank",
                    "score",
                    "followers",
                    "engagement_rate",
                    "growth_30d",
                    "updated_at",
                ],
            )

    return make


def sync(step: SyncStep, clickhouse: Any, ch_database: str, pg_url: str, **kwargs: Any) -> Any:
    return sync_table(step, tenant=TENANT, clickhouse=clickhouse, postgres=pg_url, database=ch_database, **kwargs)


def structure(conn: psycopg.Connection[Any], table: str) -> dict[str, list[str]]:
    def names(query: str) -> list[str]:
        return sorted(r[0] for r in conn.execute(query, (f"{SCHEMA}.{table}",)).fetchall())

    return {
        "indexes": names("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass"),
        "constraints": names(
            "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass"
        ),
        "triggers": names(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal"
        ),
        "defaults": names(
            "SELECT attname || '=' || pg_get_expr(adbin, adrelid) FROM pg_attrdef "
            "JOIN pg_attribute ON attrelid = adrelid AND attnum = adnum WHERE adrelid = %s::regclass"
        ),
    }


def test_replace_swaps_the_gateways_table_keeping_its_shape_and_telling_its_cache(
    clickhouse: Any, ch_database: str, gateway_schema: str, mart: Any
) -> None:
    with psycopg.connect(gateway_schema, autocommit=True) as conn:
        before = structure(conn, "leaderboards")
        conn.execute(
            f"INSERT INTO {SCHEMA}.leaderboards (platform, dimension, creator_id, handle, rank, score) "
            "VALUES ('youtube', 'growth', 'youtube:stale', 'stale', 1, 0.5)"
        )
        conn.execute("LISTEN barista_tenant_data")
        list(conn.notifies(timeout=0.2))  # drain the insert's own notification
        rows = board_rows(30)
        mart(rows[:20])
        mart_extra = rows[10:]  # a second part repeating ten keys with the same values: FINAL collapses them
        clickhouse.insert(
            f"`{ch_database}`.`mart_leaderboards`",
            mart_extra,
            column_names=[
                "platform",
                "dimension",
                "bucket",
                "creator_id",
                "handle",
                "display_name",
                "rank",
                "score",
                "followers",
                "engagement_rate",
                "growth_30d",
                "updated_at",
            ],
        )

        outcome = sync(BOARDS, clickhouse, ch_database, gateway_schema)

        assert (outcome.rows, outcome.mode, outcome.created_target) == (30, "replace", False)
        got = conn.execute(
            f"SELECT creator_id, rank, score, followers, engagement_rate, updated_at "
            f"FROM {SCHEMA}.leaderboards ORDER BY rank"
        ).fetchall()
        assert [r[0] for r in got] == [r[3] for r in rows]  # the stale row is gone, every mart row is there once
        assert [(r[1], r[2], r[3], r[4]) for r in got] == [(r[6], r[7], r[8], r[9]) for r in rows]
        assert got[0][5].isoformat() == "2026-01-02T03:04:05+00:00"  # ClickHouse's naive UTC stays UTC
        assert structure(conn, "leaderboards") == before  # same index/constraint names, defaults, triggers
        assert [n.payload for n in conn.notifies(timeout=1, stop_after=1)] == [TENANT]
        leftovers = conn.execute("SELECT relname FROM pg_class WHERE relname LIKE '\\_barista\\_%'").fetchall()
        assert leftovers == []


def test_replace_is_atomic_for_readers(clickhouse: Any, ch_database: str, gateway_schema: str, mart: Any) -> None:
    mart(board_rows(500))
    sync(BOARDS, clickhouse, ch_database, gateway_schema)
    mart(board_rows(2000, score_base=5000.0, prefix="n"))
    seen: set[int] = set()
    stop = threading.Event()

    def poll() -> None:
        with psycopg.connect(gateway_schema, autocommit=True) as conn:
            while not stop.is_set():
                seen.add(conn.execute(f"SELECT count(*) FROM {SCHEMA}.leaderboards").fetchone()[0])  # type: ignore[index]

    with psycopg.connect(gateway_schema) as holder:
        # a reader inside a transaction holds its lock: the swap must wait for it, and it keeps seeing the old rows
        assert holder.execute(f"SELECT count(*) FROM {SCHEMA}.leaderboards").fetchone() == (500,)
        poller = threading.Thread(target=poll)
        poller.start()
        result: list[Any] = []
        syncing = threading.Thread(
            target=lambda: result.append(sync(BOARDS, clickhouse, ch_database, gateway_schema, batch_rows=256))
        )
        syncing.start()
        with psycopg.connect(gateway_schema, autocommit=True) as watcher:
            deadline = time.monotonic() + 30
            while not watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock'"
            ).fetchone()[0]:  # type: ignore[index]
                assert time.monotonic() < deadline, "the sync never reached the swap"
                time.sleep(0.05)
        assert syncing.is_alive()
        assert holder.execute(f"SELECT count(*), min(handle) FROM {SCHEMA}.leaderboards").fetchone() == (500, "c0")
        holder.commit()
        syncing.join(60)
    stop.set()
    poller.join(10)
    assert result and result[0].rows == 2000
    assert seen <= {500, 2000} and 500 in seen  # never empty, never a mix
    with psycopg.connect(gateway_schema) as conn:
        assert conn.execute(f"SELECT count(*), min(handle) FROM {SCHEMA}.leaderboards").fetchone() == (2000, "n0")


def test_a_failing_replace_leaves_the_old_table_as_it_was(
    clickhouse: Any, ch_database: str, gateway_schema: str, mart: Any
) -> None:
    mart(board_rows(5))
    sync(BOARDS, clickhouse, ch_database, gateway_schema)
    rows = board_rows(3, prefix="x")
    mart(rows + rows[:1], engine="MergeTree")  # a duplicate key: the primary key cannot be built on the new table
    with psycopg.connect(gateway_schema, autocommit=True) as conn:
        before = structure(conn, "leaderboards")
        with pytest.raises(psycopg.errors.UniqueViolation):
            sync(BOARDS, clickhouse, ch_database, gateway_schema)
        assert conn.execute(f"SELECT count(*), min(handle) FROM {SCHEMA}.leaderboards").fetchone() == (5, "c0")
        assert structure(conn, "leaderboards") == before
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relname LIKE '\\_barista\\_%'").fetchone() == (0,)
    mart(board_rows(2, score_base=10.0), engine="MergeTree")
    mart_rows = [[*r[:6], 0, *r[7:]] for r in board_rows(1)]  # rank 0 breaks the gateway's CHECK (rank >= 1)
    mart(mart_rows, engine="MergeTree")
    with pytest.raises(psycopg.errors.CheckViolation):
        sync(BOARDS, clickhouse, ch_database, gateway_schema)


def test_replace_refuses_tables_others_depend_on(
    clickhouse: Any, ch_database: str, gateway_schema: str, mart: Any
) -> None:
    mart(board_rows(3))
    with psycopg.connect(gateway_schema, autocommit=True) as conn:
        conn.execute(f"CREATE VIEW {SCHEMA}.top AS SELECT * FROM {SCHEMA}.leaderboards WHERE rank <= 10")
        with pytest.raises(SyncError, match="other objects depend on it .*use mode: upsert"):
            sync(BOARDS, clickhouse, ch_database, gateway_schema)
        conn.execute(
            f"CREATE TABLE {SCHEMA}.fans (creator text, platform text, dimension text, "
            f"FOREIGN KEY (platform, dimension, creator) REFERENCES {SCHEMA}.leaderboards)"
        )
        with pytest.raises(SyncError, match="foreign keys point at it"):
            sync(BOARDS, clickhouse, ch_database, gateway_schema)


def test_upsert_inserts_updates_and_keeps_what_the_source_lacks(
    clickhouse: Any, ch_database: str, gateway_schema: str, mart: Any
) -> None:
    step = BOARDS.model_copy(update={"mode": "upsert"})
    rows = board_rows(10)
    mart(rows)
    assert sync(step, clickhouse, ch_database, gateway_schema).changed == 10
    with psycopg.connect(gateway_schema, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO {SCHEMA}.leaderboards (platform, dimension, creator_id, handle, rank, score) "
            "VALUES ('youtube', 'growth', 'youtube:kept', 'kept', 1, 0.5)"
        )
        versions = dict(conn.execute(f"SELECT creator_id, xmin::text FROM {SCHEMA}.leaderboards").fetchall())
        changed = [r.copy() for r in rows[:3]]
        for r in changed:
            r[7] += 0.5  # new score for three creators
        mart(changed + rows[3:] + board_rows(12)[10:])  # plus two new creators
        outcome = sync(step, clickhouse, ch_database, gateway_schema)
        assert (outcome.rows, outcome.changed) == (12, 5)  # 3 updated + 2 inserted; 7 equal rows untouched
        after = dict(conn.execute(f"SELECT creator_id, xmin::text FROM {SCHEMA}.leaderboards").fetchall())
        assert len(after) == 13 and "youtube:kept" in after
        untouched = [c for c in versions if after.get(c) == versions[c]]
        assert sorted(untouched) == sorted(["youtube:kept", *(r[3] for r in rows[3:])])
        scores = dict(conn.execute(f"SELECT creator_id, score FROM {SCHEMA}.leaderboards").fetchall())
        assert [scores[r[3]] for r in changed] == [r[7] for r in changed]


def test_upsert_refuses_duplicate_keys_and_keys_without_a_unique_index(
    clickhouse: Any, ch_database: str, gateway_schema: str, mart: Any
) -> None:
    rows = board_rows(3)
    mart([*rows, [*rows[0][:7], 1.0, *rows[0][8:]]], engine="MergeTree")
    with pytest.raises(
        SyncError,
        match=r"several rows per key \(platform, dimension, creator_id\): instagram, "
        r"platform, instagram:c0 \(x2\)",
    ):
        sync(BOARDS.model_copy(update={"mode": "upsert"}), clickhouse, ch_database, gateway_schema)
    with pytest.raises(SyncError, match=r"needs a primary key or unique index on exactly \(platform, creator_id\)"):
        sync(
            SyncStep(source="mart_leaderboards", target="leaderboards", key=["platform", "creator_id"], mode="upsert"),
            clickhouse,
            ch_database,
            gateway_schema,
        )


def test_a_missing_target_is_created_from_the_clickhouse_types(clickhouse: Any, ch_database: str, pg_url: str) -> None:
    clickhouse.command(
        f"CREATE TABLE `{ch_database}`.wide (id UInt64, name LowCardinality(String), note Nullable(String), "
        "tags Array(String), at DateTime64(3, 'UTC'), day Date, ok Bool, price Decimal(10, 2), attrs Map(String, "
        "UInt32), n Int32, alias_col UInt64 ALIAS id * 2) ENGINE = MergeTree ORDER BY id"
    )
    clickhouse.insert(
        f"`{ch_database}`.wide",
        [
            [
                1,
                "a",
                None,
                ["x", "y"],
                datetime(2026, 5, 1, 12),
                datetime(2026, 5, 1).date(),
                True,
                Decimal("9.99"),
                {"k": 1},
                -5,
            ],
            [2, "b", "n", [], datetime(2026, 5, 2, 12), datetime(2026, 5, 2).date(), False, Decimal("0.50"), {}, 7],
        ],
        column_names=["id", "name", "note", "tags", "at", "day", "ok", "price", "attrs", "n"],
    )
    step = SyncStep(source="wide", target="wide_copy", key=["id"], mode="replace")
    outcome = sync(step, clickhouse, ch_database, pg_url, batch_rows=100)
    assert outcome.created_target and outcome.rows == 2
    with psycopg.connect(pg_url) as conn:
        columns = conn.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'wide_copy' ORDER BY ordinal_position",
            (SCHEMA,),
        ).fetchall()
        assert columns == [
            ("id", "bigint", "NO"),
            ("name", "text", "NO"),
            ("note", "text", "YES"),
            ("tags", "ARRAY", "NO"),
            ("at", "timestamp with time zone", "NO"),
            ("day", "date", "NO"),
            ("ok", "boolean", "NO"),
            ("price", "numeric", "NO"),
            ("attrs", "jsonb", "NO"),
            ("n", "integer", "NO"),
        ]
        assert conn.execute(
            f"SELECT id, note, tags, ok, price, attrs, n FROM {SCHEMA}.wide_copy ORDER BY id"
        ).fetchall() == [
            (1, None, ["x", "y"], True, Decimal("9.99"), {"k": 1}, -5),
            (2, "n", [], False, Decimal("0.50"), {}, 7),
        ]
        key = conn.execute(
            f"SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE conrelid = '{SCHEMA}.wide_copy'::regclass AND contype = 'p'"
        ).fetchone()
        assert key == ("PRIMARY KEY (id)",)


def test_large_tables_stream_in_blocks(clickhouse: Any, ch_database: str, pg_url: str) -> None:
    clickhouse.command(f"CREATE TABLE `{ch_database}`.big (id UInt64, v String) ENGINE = MergeTree ORDER BY id")
    clickhouse.command(f"INSERT INTO `{ch_database}`.big SELECT number, toString(number) FROM numbers(25000)")
    outcome = sync(
        SyncStep(source="big", target="big", key=["id"], mode="upsert"),
        clickhouse,
        ch_database,
        pg_url,
        batch_rows=1000,
    )
    assert outcome.rows == 25000
    with psycopg.connect(pg_url) as conn:
        assert conn.execute(f"SELECT count(*), sum(id), max(v::bigint) FROM {SCHEMA}.big").fetchone() == (
            25000,
            sum(range(25000)),
            24999,
        )


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            "platform String, dimension String, creator_id String, surprise String",
            "columns of mart_leaderboards missing in tenant_acme.leaderboards .*: surprise",
        ),
        (
            "platform String, dimension String, creator_id String",
            "needs NOT NULL columns mart_leaderboards lacks: handle, rank, score",
        ),
        ("platform String, creator_id String, handle String", r"key columns \['dimension'\] are not columns"),
    ],
)
def test_column_mismatches_are_refused_before_any_write(
    clickhouse: Any, ch_database: str, gateway_schema: str, columns: str, message: str
) -> None:
    clickhouse.command(
        f"CREATE TABLE `{ch_database}`.mart_leaderboards ({columns}) ENGINE = MergeTree ORDER BY tuple()"
    )
    with pytest.raises(SyncError, match=message):
        sync(BOARDS, clickhouse, ch_database, gateway_schema)


def test_missing_sources_and_bad_names_are_clear_errors(clickhouse: Any, ch_database: str, pg_url: str) -> None:
    with pytest.raises(SyncError, match=f"ClickHouse table {ch_database}.mart_leaderboards does not exist"):
        sync(BOARDS, clickhouse, ch_database, pg_url)
    with pytest.raises(SyncError, match="schema 'tenant-acme' is not an identifier"):
        sync(BOARDS, clickhouse, ch_database, pg_url, schema="tenant-acme")
