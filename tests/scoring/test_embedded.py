"""The scoring service inside ``barista up``: starts, serves, runs its demo, stops."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path

from barista_core.dataplane import DataPlane
from barista_scoring.embedded import service


async def test_service_starts_serves_demos_and_stops(clickhouse, ch_database: str, tmp_path: Path) -> None:
    plane = DataPlane(
        data_dir=tmp_path, clickhouse_url="chdb://unused", postgres_url="", redis_url="", broker_url="",
        clickhouse=clickhouse,
    )  # fmt: skip
    scoring = service(database=ch_database)
    async with scoring.start(plane):
        (name, url), *_ = plane.endpoints
        assert name == "scoring" and url.startswith("http://127.0.0.1:") and url.endswith("/v1/score")
        health = await asyncio.to_thread(
            lambda: urllib.request.urlopen(url.replace("/v1/score", "/healthz"), timeout=30).status
        )
        assert health == 200
        assert scoring.demo is not None
        lines = await scoring.demo(plane)
        assert any("user83746251" in line and "fake" in line for line in lines)
        assert any("demo-creator" in line and "fake share" in line for line in lines)
    base = url.replace("/v1/score", "/healthz")
    try:
        await asyncio.to_thread(lambda: urllib.request.urlopen(base, timeout=2))
        stopped = False
    except OSError:
        stopped = True
    assert stopped
