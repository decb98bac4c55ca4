"""Batch mode: score the followers in ClickHouse's follower snapshots, write scores and per-creator shares.

Reads the latest snapshot of each (creator, follower) seen in the window, scores them in chunks with
:meth:`Scorer.batch` and writes

* ``follower_scores`` — one row per creator and follower (ReplacingMergeTree: re-scoring replaces);
* ``creator_fake_share`` — per creator: followers scored, fake / suspicious / real counts and shares.

The ClickHouse client is synchronous (clickhouse-connect, or chdb through the same API): call
:func:`run_batch` from a thread in async code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

from barista_core.logging import get_logger
from barista_scoring import metrics
from barista_scoring.features import FEATURES
from barista_scoring.profile import Profile
from barista_scoring.scorer import Scorer

log = get_logger(__name__)

SNAPSHOT_COLUMNS = (
    "follower_handle", "full_name", "biography", "follower_count", "following_count", "post_count",
    "has_profile_pic", "is_private", "is_verified", "external_url",
)  # fmt: skip


def snapshots_ddl(database: str, table: str) -> str:
    """The shape the batch reads (dbt's follower-snapshot model or the sinker's table must provide it)."""
    return f"""
        CREATE TABLE IF NOT EXISTS {database}.{table} (
            creator_id String,
            follower_handle String,
            full_name Nullable(String),
            biography Nullable(String),
            follower_count Nullable(UInt64),
            following_count Nullable(UInt64),
            post_count Nullable(UInt64),
            has_profile_pic Nullable(Bool),
            is_private Nullable(Bool),
            is_verified Nullable(Bool),
            external_url Nullable(String),
            observed_at DateTime64(3, 'UTC')
        ) ENGINE = ReplacingMergeTree(observed_at) ORDER BY (creator_id, follower_handle)
    """


def scores_ddl(database: str) -> str:
    contributions = ",\n".join(f"            contrib_{f} Float32" for f in FEATURES)
    return f"""
        CREATE TABLE IF NOT EXISTS {database}.follower_scores (
            creator_id String,
            follower_handle String,
            probability Float32,
            label LowCardinality(String),
            confidence Float32,
            script LowCardinality(String),
            top_reason String,
{contributions},
            scored_at DateTime64(3, 'UTC')
        ) ENGINE = ReplacingMergeTree(scored_at) ORDER BY (creator_id, follower_handle)
    """


def shares_ddl(database: str) -> str:
    return f"""
        CREATE TABLE IF NOT EXISTS {database}.creator_fake_share (
            creator_id String,
            followers_scored UInt64,
            fake UInt64,
            suspicious UInt64,
            real UInt64,
            fake_share Float64,
            suspicious_share Float64,
            mean_probability Float64,
            computed_at DateTime64(3, 'UTC')
        ) ENGINE = ReplacingMergeTree(computed_at) ORDER BY creator_id
    """


def ensure_tables(client: Client, database: str, snapshots_table: str = "follower_snapshots") -> None:
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(snapshots_ddl(database, snapshots_table))
    client.command(scores_ddl(database))
    client.command(shares_ddl(database))


@dataclass(frozen=True, slots=True)
class BatchReport:
    profiles: int
    creators: int
    fake: int
    suspicious: int
    seconds: float


def run_batch(
    client: Client,
    scorer: Scorer,
    *,
    database: str = "barista",
    snapshots_table: str = "follower_snapshots",
    since_hours: float = 24.0,
    chunk: int = 50_000,
) -> BatchReport:
    """Score the latest snapshot of every follower observed in the last ``since_hours`` hours."""
    started = time.perf_counter()
    ensure_tables(client, database, snapshots_table)
    result = client.query(
        f"""
        SELECT creator_id, {", ".join(SNAPSHOT_COLUMNS)}
        FROM {database}.{snapshots_table}
        WHERE observed_at >= now64(3) - toIntervalSecond({{seconds:UInt64}})
        ORDER BY creator_id, follower_handle, observed_at DESC
        LIMIT 1 BY creator_id, follower_handle
        """,
        parameters={"seconds": int(since_hours * 3600)},
    )
    rows = result.result_rows
    creators: set[str] = set()
    fake = suspicious = 0
    for offset in range(0, len(rows), chunk):
        part = rows[offset : offset + chunk]
        profiles = [
            Profile(
                handle=r[1],
                full_name=r[2],
                biography=r[3],
                follower_count=r[4],
                following_count=r[5],
                post_count=r[6],
                has_profile_pic=r[7],
                is_private=r[8],
                is_verified=r[9],
                external_url=r[10],
            )
            for r in part
        ]
        scores = scorer.batch(profiles)
        labels = [label.value for label in scores.labels]
        now = datetime.now(UTC)
        columns: list[list[object]] = [
            [r[0] for r in part],
            [r[1] for r in part],
            scores.probabilities.tolist(),
            labels,
            scores.confidences.tolist(),
            [s.value for s in scores.scripts],
            scores.reasons,
            *(scores.contributions[:, j].tolist() for j in range(len(FEATURES))),
            [now] * len(part),
        ]
        client.insert(
            f"{database}.follower_scores",
            columns,
            column_names=[
                "creator_id",
                "follower_handle",
                "probability",
                "label",
                "confidence",
                "script",
                "top_reason",
                *(f"contrib_{f}" for f in FEATURES),
                "scored_at",
            ],
            column_oriented=True,
        )
        creators.update(columns[0])  # type: ignore[arg-type]
        fake += labels.count("fake")
        suspicious += labels.count("suspicious")
        metrics.count_labels(labels, "batch")
    if creators:
        client.command(
            f"""
            INSERT INTO {database}.creator_fake_share
            SELECT creator_id, count() AS n, countIf(label = 'fake'), countIf(label = 'suspicious'),
                   countIf(label = 'real'), countIf(label = 'fake') / n, countIf(label = 'suspicious') / n,
                   avg(probability), now64(3)
            FROM {database}.follower_scores FINAL
            WHERE creator_id IN {{creators:Array(String)}}
            GROUP BY creator_id
            """,
            parameters={"creators": sorted(creators)},
        )
    seconds = time.perf_counter() - started
    metrics.BATCH_SECONDS.observe(seconds)
    report = BatchReport(len(rows), len(creators), fake, suspicious, seconds)
    log.info("batch scored", profiles=report.profiles, creators=report.creators, fake=fake, seconds=round(seconds, 2))
    return report
