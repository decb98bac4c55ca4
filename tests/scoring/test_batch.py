"""Batch mode against ClickHouse (chdb): snapshots in, scores and per-creator fake shares out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from barista_scoring.batch import ensure_tables, run_batch
from barista_scoring.scorer import Scorer

COLUMNS = [
    "creator_id", "follower_handle", "full_name", "biography", "follower_count", "following_count", "post_count",
    "has_profile_pic", "is_private", "is_verified", "external_url", "observed_at",
]  # fmt: skip


def snapshots(now: datetime) -> list[list[object]]:
    return [
        ["alpha", "suresh_kumar_92", "சுரேஷ் குமார்", "Chennai", 412, 380, 57, True, False, False, "", now],
        ["alpha", "priya.sharma", "प्रिया शर्मा", "", 520, 480, 90, True, True, False, "", now],
        ["alpha", "user83746251", "", "", 3, 7120, 0, False, False, False, "", now],
        ["alpha", "xkqzvbwt8372", "Xkqzv", None, None, 3100, None, None, None, None, None, now],
        ["beta", "user_20394857", "Priya Sharma", "", 7, 6800, 0, False, False, False, "", now],
        ["beta", "old_follower", "Old", "", 10, 10, 1, True, False, False, "", now - timedelta(days=3)],
    ]


def test_batch_writes_scores_and_shares(clickhouse, ch_database: str, scorer: Scorer) -> None:
    ensure_tables(clickhouse, ch_database)
    now = datetime.now(UTC)
    clickhouse.insert(f"{ch_database}.follower_snapshots", snapshots(now), column_names=COLUMNS)
    report = run_batch(clickhouse, scorer, database=ch_database, since_hours=24, chunk=100)
    assert (report.profiles, report.creators) == (5, 2)  # the 3-day-old snapshot is outside the window

    rows = clickhouse.query(
        f"SELECT follower_handle, label, script, top_reason, contrib_graph FROM {ch_database}.follower_scores FINAL "
        "ORDER BY follower_handle"
    ).result_rows
    by_handle = {r[0]: r for r in rows}
    assert by_handle["suresh_kumar_92"][1] == "real" and by_handle["suresh_kumar_92"][2] == "tamil"
    assert by_handle["user83746251"][1] == "fake" and by_handle["user83746251"][3]
    assert by_handle["user_20394857"][1] == "fake"

    shares = dict(
        (r[0], r[1:])
        for r in clickhouse.query(
            f"SELECT creator_id, followers_scored, fake, real, fake_share FROM {ch_database}.creator_fake_share FINAL"
        ).result_rows
    )
    assert shares["alpha"][0] == 4 and shares["alpha"][2] == 2
    assert shares["alpha"][1] >= 1 and abs(shares["alpha"][3] - shares["alpha"][1] / 4) < 1e-9
    assert shares["beta"][:2] == (1, 1)


def test_rerun_replaces_rather_than_duplicates(clickhouse, ch_database: str, scorer: Scorer) -> None:
    ensure_tables(clickhouse, ch_database)
    clickhouse.insert(f"{ch_database}.follower_snapshots", snapshots(datetime.now(UTC)), column_names=COLUMNS)
    run_batch(clickhouse, scorer, database=ch_database)
    run_batch(clickhouse, scorer, database=ch_database)
    count = clickhouse.query(f"SELECT count() FROM {ch_database}.follower_scores FINAL").result_rows[0][0]
    assert count == 5
    shares = clickhouse.query(
        f"SELECT followers_scored FROM {ch_database}.creator_fake_share FINAL WHERE creator_id = 'alpha'"
    ).result_rows
    assert shares == [(4,)]


def test_empty_window_writes_nothing(clickhouse, ch_database: str, scorer: Scorer) -> None:
    report = run_batch(clickhouse, scorer, database=ch_database)
    assert (report.profiles, report.creators) == (0, 0)
