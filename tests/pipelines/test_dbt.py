"""Barista's dbt project: parses without a connection, and builds for real on chdb from the sinker's events table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from barista_core.backends import open_clickhouse
from barista_core.events.table import ensure_events_table
from barista_pipelines.runners.dbt import DbtStepError, dbt_args, profile_for, run_dbt
from barista_pipelines.spec import DbtStep
from barista_scoring.batch import SNAPSHOT_COLUMNS
from tests.pipelines.conftest import DBT_PROJECT, Events

pytestmark = pytest.mark.slow
NEVER_OPENED = "chdb:///nonexistent/barista-never-opened"

# platform, handle, {days_ago: followers}, properties of the newest snapshot
SERIES: dict[tuple[str, str], dict[int, int]] = {
    ("instagram", "natgeo"): {40: 500, 25: 800, 10: 900, 0: 1000},
    ("instagram", "nasa"): {25: 1000, 0: 900},
    ("instagram", "chef.amara"): {20: 100, 0: 150},
    ("youtube", "mkbhd"): {28: 2000, 0: 2100},
}


def seed(events: Events) -> None:
    details = {
        "natgeo": {"category": "Travel", "country": "us", "display_name": "NatGeo", "language": "EN"},
        "nasa": {"category": "science", "country": "US", "verified": True},
        "chef.amara": {"category": "food", "country": "India", "bio": "cooks"},  # not an ISO code: no country
        "mkbhd": {"category": "tech", "country": "US", "language": "english"},  # not ISO 639-1: no language
    }
    for (platform, handle), series in SERIES.items():
        for days_ago, followers in series.items():
            extra = details[handle] if days_ago == max(series) else {}
            name = f"@{handle}" if handle == "chef.amara" else handle  # a leading @ is dropped
            events.profile(platform, name, followers, days_ago=days_ago, **extra)
    events.profile("instagram", "natgeo", 1000, days_ago=0.01)  # newest snapshot has no category: keep the old
    events.profile("shopify", "store-1", 5_000_000)  # not a creator platform
    events.profile("instagram", "bad handle!", 9_000_000)  # not a handle the serving table accepts
    for post, likes, comments, days_ago in (
        ("p1", 40, 10, 5),
        ("p2", 70, 30, 3),
        ("p1", 90, 10, 1),
        ("p-old", 5000, 0, 45),
    ):
        events.add(
            "post.snapshot",
            {"platform": "instagram", "post_id": post, "handle": "natgeo", "likes": likes, "comments": comments},
            days_ago=days_ago,
        )
    events.add(
        "follower.snapshot",
        {
            "platform": "instagram",
            "handle": "natgeo",
            "follower_handle": "user8472",
            "follower_name": "",
            "follower_followers": 2,
            "follower_following": 7000,
            "follower_has_picture": False,
        },
    )
    events.add("product.snapshot", {"platform": "shopify", "product_id": "sku-1", "title": "Mug", "price": "12.5"})
    events.add("app.opened", {"platform": "ios"})


@dataclass
class Built:
    client: Any
    database: str
    work_dir: Path
    url: str
    parsed: Any = None

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.client.query(query.replace("{db}", f"`{self.database}`")).result_rows]

    def build(self, **step: Any) -> Any:
        return run_dbt(
            DbtStep(**step),
            tenant="acme",
            clickhouse_url=self.url,
            project_dir=DBT_PROJECT,
            database=self.database,
            work_dir=self.work_dir,
            quiet=True,
            threads=2,
        )


@pytest.fixture(scope="module")
def built(chdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """One tenant database, seeded and built once for the module (dbt's parse dominates a build)."""
    client = open_clickhouse(chdb_url)
    database = f"t_dbt_{uuid.uuid4().hex[:10]}"
    ensure_events_table(client, database)
    events = Events()
    seed(events)
    duplicate = dict(events.items[0])
    events.write(client, database)
    events.items = [duplicate]  # the same event delivered again, in another part: FINAL collapses it
    events.write(client, database)
    state = Built(client=client, database=database, work_dir=tmp_path_factory.mktemp("dbt"), url=chdb_url)
    # parse first against an engine directory that does not exist: dbt parse needs no connection (and the
    # build below reuses the parsed project: the chdb path is not part of dbt's profile)
    state.parsed = run_dbt(
        DbtStep(select=["tag:leaderboard", "tag:profiles"]),
        command="parse",
        tenant="acme",
        clickhouse_url=NEVER_OPENED,
        project_dir=DBT_PROJECT,
        database=database,
        work_dir=state.work_dir,
        quiet=True,
        threads=2,
    )
    state.build(select=["tag:leaderboard", "tag:profiles"])
    yield state
    client.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")


def test_the_project_parses_without_a_connection(built: Built) -> None:
    assert built.parsed.nodes == ()  # parse runs nothing
    assert not Path(NEVER_OPENED.removeprefix("chdb://")).exists()
    assert (built.work_dir / "target" / "manifest.json").is_file()
    manifest = (built.work_dir / "target" / "manifest.json").read_text()
    for model in ("mart_leaderboards", "mart_creator_profiles", "profile_snapshots", "scoring_follower_snapshots"):
        assert f"model.barista.{model}" in manifest


def test_the_command_line_and_profile(tmp_path: Path) -> None:
    step = DbtStep(select=["tag:leaderboard"], exclude=["tag:slow"], full_refresh=True, vars={"lookback_days": 7})
    args = dbt_args(step, project_dir=DBT_PROJECT, work_dir=tmp_path)
    assert args[0] == "build" and args[args.index("--select") + 1] == "tag:leaderboard"
    assert args[args.index("--exclude") + 1] == "tag:slow" and "--full-refresh" in args
    assert args[args.index("--vars") + 1] == '{"lookback_days":7}'
    assert args[args.index("--target-path") + 1] == str(tmp_path / "target")  # never inside the (read-only) project
    server = profile_for("clickhouses://svc:s%40cret@ch.example:9440", "tenant_acme")["barista"]["outputs"]["barista"]
    assert (server["host"], server["port"], server["user"], server["password"], server["secure"]) == (
        "ch.example",
        9440,
        "svc",
        "s@cret",
        True,
    )
    assert server["schema"] == "tenant_acme"


def test_creator_profiles_take_the_newest_known_value_of_each_attribute(built: Built) -> None:
    rows = built.rows(
        "SELECT platform, handle, creator_id, display_name, category, country, language, followers, "
        "verified, followers_growth_30d, engagement_rate FROM {db}.mart_creator_profiles "
        "ORDER BY platform, handle"
    )
    by_handle = {r[1]: r for r in rows}
    assert sorted(by_handle) == ["chef.amara", "mkbhd", "nasa", "natgeo"]  # no shopify, no invalid handle
    natgeo = by_handle["natgeo"]
    assert natgeo[2:9] == ("instagram:natgeo", "NatGeo", "travel", "US", "en", 1000, False)
    assert by_handle["chef.amara"][5] is None and by_handle["mkbhd"][6] is None  # invalid codes → NULL
    assert by_handle["nasa"][8] is True
    for (_, handle), series in SERIES.items():  # growth over the 30-day window, from the daily series
        in_window = [series[d] for d in sorted(series, reverse=True) if d <= 30]
        expected = (series[0] - in_window[0]) / in_window[0] if len(in_window) > 1 else None
        assert by_handle[handle][9] == pytest.approx(expected), handle
    # engagement: newest snapshot of each post of the last 30 days, (likes + comments) per post over followers
    assert natgeo[10] == pytest.approx(((90 + 10) + (70 + 30)) / 2 / 1000)
    assert by_handle["nasa"][10] is None


def test_leaderboards_rank_each_board_from_one_without_gaps(built: Built) -> None:
    rows = built.rows(
        "SELECT platform, dimension, bucket, creator_id, handle, rank, score, followers, growth_30d "
        "FROM {db}.mart_leaderboards ORDER BY platform, dimension, bucket, rank"
    )
    profiles = {
        r[0]: r[1:]
        for r in built.rows(
            "SELECT creator_id, platform, category, country, followers, followers_growth_30d "
            "FROM {db}.mart_creator_profiles"
        )
    }
    boards: dict[tuple[str, str, str], list[tuple[float, str]]] = {}
    for creator, (platform, category, country, followers, growth) in profiles.items():
        boards.setdefault((platform, "platform", ""), []).append((float(followers), creator))
        if category:
            boards.setdefault((platform, "category", category), []).append((float(followers), creator))
        if country:
            boards.setdefault((platform, "country", country), []).append((float(followers), creator))
        if growth is not None:
            boards.setdefault((platform, "growth", ""), []).append((growth, creator))
    expected = [
        (platform, dimension, bucket, creator, rank, score)
        for (platform, dimension, bucket), entries in sorted(boards.items())
        for rank, (score, creator) in enumerate(sorted(entries, key=lambda e: (-e[0], e[1])), start=1)
    ]
    assert [(r[0], r[1], r[2], r[3], r[5], r[6]) for r in rows] == [
        (p, d, b, c, r, pytest.approx(s)) for p, d, b, c, r, s in expected
    ]
    assert {r[1] for r in rows} == {"platform", "category", "country", "growth"}  # the gateway's dimensions


def test_the_score_step_input_has_the_scoring_batch_shape(built: Built) -> None:
    columns = [
        r[0]
        for r in built.rows(
            f"SELECT name FROM system.columns WHERE database = '{built.database}' "
            "AND table = 'scoring_follower_snapshots' ORDER BY position"
        )
    ]
    assert columns == ["creator_id", *SNAPSHOT_COLUMNS, "observed_at"]
    assert built.rows(
        "SELECT creator_id, follower_handle, full_name, follower_count, following_count, "
        "has_profile_pic FROM {db}.scoring_follower_snapshots"
    ) == [("instagram:natgeo", "user8472", "", 2, 7000, False)]


def test_incremental_models_take_late_and_new_snapshots_and_tests_see_through_final(built: Built) -> None:
    before = built.rows("SELECT count() FROM {db}.profile_snapshots FINAL")[0][0]
    valid = sum(len(s) for s in SERIES.values()) + 1
    assert before == valid  # one row per valid profile snapshot, the duplicate delivery collapsed
    events = Events()
    events.profile("instagram", "natgeo", 1100, days_ago=0)  # newer snapshot today: replaces today's value
    events.profile("instagram", "nasa", 950, days_ago=1)  # a late snapshot of yesterday
    events.write(built.client, built.database)
    built.client.command(f"SYSTEM STOP MERGES `{built.database}`.int_followers_daily")
    try:
        built.build(select=["tag:profiles"])
        daily = dict(
            (r[0], r[1])
            for r in built.rows(
                "SELECT concat(handle, '@', toString(today() - day)), followers FROM {db}.int_followers_daily FINAL "
                "WHERE platform = 'instagram' AND handle IN ('natgeo', 'nasa') AND day >= today() - 1"
            )
        )
        assert daily == {"natgeo@0": 1100, "nasa@1": 950, "nasa@0": 900}
        raw, final = built.rows(
            "SELECT (SELECT count() FROM {db}.int_followers_daily), "
            "(SELECT count() FROM {db}.int_followers_daily FINAL)"
        )[0]
        assert raw > final  # recomputed days sit in unmerged parts: a plain unique test would fail here
        assert built.rows("SELECT count() FROM {db}.profile_snapshots FINAL")[0][0] == before + 2
        assert built.rows("SELECT followers FROM {db}.mart_creator_profiles WHERE handle = 'natgeo'") == [(1100,)]
    finally:
        built.client.command(f"SYSTEM START MERGES `{built.database}`.int_followers_daily")


def test_a_failing_data_test_fails_the_step(built: Built) -> None:
    """Bad upstream data (a fake-follower share above 1 from the score step's table) stops the build."""
    from barista_scoring.batch import shares_ddl

    built.client.command(shares_ddl(f"`{built.database}`"))
    try:
        built.client.command(
            f"INSERT INTO `{built.database}`.creator_fake_share VALUES "
            "('instagram:natgeo', 10, 15, 0, 0, 1.5, 0, 0.9, now64(3))"
        )
        with pytest.raises(
            DbtStepError, match=r"accepted_range_final_stg_scoring__creator_fake_shares_fake_share.*fail"
        ):
            built.build(select=["stg_scoring__creator_fake_shares"])
    finally:
        built.client.command(f"DROP TABLE `{built.database}`.creator_fake_share")


def test_engagement_boards_and_board_size_follow_the_vars(built: Built) -> None:
    """Last in the module: it rebuilds the boards with other vars."""
    built.build(
        select=["mart_leaderboards"], vars={"leaderboard_dimensions": ["engagement", "platform"], "leaderboard_size": 2}
    )
    rows = built.rows(
        "SELECT platform, dimension, handle, rank FROM {db}.mart_leaderboards ORDER BY platform, dimension, rank"
    )
    assert rows == [
        ("instagram", "engagement", "natgeo", 1),
        ("instagram", "platform", "natgeo", 1),
        ("instagram", "platform", "nasa", 2),
        ("youtube", "platform", "mkbhd", 1),
    ]
