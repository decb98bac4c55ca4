"""The ``barista up`` service: dbt warms up in the background, the demo runs the leaderboard pipeline in-process."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from barista_core.backends import open_postgres
from barista_core.dataplane import DataPlane
from barista_core.events.table import EVENT_COLUMN_NAMES, ensure_events_table
from barista_core.naming import tenant_database, tenant_schema
from barista_pipelines.embedded import PREVIEW_TABLE, service
from tests.pipelines.conftest import Events

pytestmark = pytest.mark.slow


async def test_the_demo_builds_boards_from_the_events_there_are(
    clickhouse: Any, chdb_url: str, pg_url: str, tmp_path: Path
) -> None:
    tenant = f"up-{uuid.uuid4().hex[:8]}"
    database = tenant_database(tenant)
    ensure_events_table(clickhouse, database)
    events = Events(tenant)
    events.profile("instagram", "gadget.kai", 319_985, category="tech")
    events.profile("instagram", "chef.amara", 246_875, category="food")
    events.profile("youtube", "mkbhd", 19_800_000, category="tech")
    events.write(clickhouse, database)
    pool = await open_postgres(pg_url)
    plane = DataPlane(
        data_dir=tmp_path,
        clickhouse_url=chdb_url,
        postgres_url=pg_url,
        redis_url="",
        broker_url="",
        clickhouse=clickhouse,
        postgres=pool,
        shared={"demo_tenant": tenant},
    )
    pipelines = service()
    assert pipelines.name == "pipelines" and pipelines.demo is not None
    try:
        async with pipelines.start(plane):
            lines = await pipelines.demo(plane)
        assert lines[0].startswith(f"ran {tenant}__leaderboards in-process in ")
        assert f"→ publish (6 rows → {tenant_schema(tenant)}.{PREVIEW_TABLE})" in lines[0]
        assert lines[1:] == [
            "  #1 instagram/gadget.kai: 319,985 followers",
            "  #1 youtube/mkbhd: 19,800,000 followers",
            "  #2 instagram/chef.amara: 246,875 followers",
        ]
        assert (tmp_path / "pipelines" / "dbt" / tenant / "target" / "partial_parse.msgpack").is_file()
        with psycopg.connect(pg_url) as conn:
            # the gateway's own serving table is not touched by the demo
            assert conn.execute("SELECT to_regclass(%s)", (f"{tenant_schema(tenant)}.leaderboards",)).fetchone() == (
                None,
            )
    finally:
        await pool.close()
        clickhouse.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")


def test_the_standalone_demos_sample_events_fit_the_sinkers_table(clickhouse: Any, ch_database: str) -> None:
    from barista_pipelines.demo import sample_events

    ensure_events_table(clickhouse, ch_database)
    clickhouse.insert(f"`{ch_database}`.events", sample_events("demo"), column_names=EVENT_COLUMN_NAMES)
    counts = dict(
        clickhouse.query(f"SELECT event_type, count() FROM `{ch_database}`.events GROUP BY event_type").result_rows
    )
    assert set(counts) == {"profile.snapshot", "post.snapshot", "follower.snapshot"}


def test_the_cli_validates_spec_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from barista_pipelines.__main__ import main
    from tests.pipelines.conftest import make_spec, write_spec

    good = write_spec(tmp_path, make_spec())
    bad = write_spec(tmp_path, make_spec(tenant="globex", retries=42))
    assert main(["validate", str(good)]) == 0
    assert "acme__leaderboards (0 * * * *): {models} → {score} → {publish}" in capsys.readouterr().out
    assert main(["validate", str(good), str(bad)]) == 1
    assert "retries: Input should be less than or equal to 10" in capsys.readouterr().err
