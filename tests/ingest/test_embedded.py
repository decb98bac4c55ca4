"""Ingest inside ``barista up``: the service starts on the data plane's backends, its demo sends events over
gRPC and finds them in ClickHouse, and it leaves nothing behind when it stops."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from barista_core.backends import open_broker, open_clickhouse, open_postgres
from barista_core.dataplane import DataPlane
from barista_ingest import embedded

pytestmark = [pytest.mark.services]


async def test_service_runs_the_server_and_a_clickhouse_sinker_and_its_demo_shows_events(
    tmp_path: Path, pg_url: str, redis_url: str, chdb_url: str
) -> None:
    broker_url = f"memory://up-{uuid.uuid4().hex}"
    plane = DataPlane(
        data_dir=tmp_path, clickhouse_url=chdb_url, postgres_url=pg_url, redis_url=redis_url, broker_url=broker_url,
        clickhouse=open_clickhouse(chdb_url), postgres=await open_postgres(pg_url),
        redis=aioredis.from_url(redis_url), broker=await open_broker(broker_url),
    )  # fmt: skip
    plane.shared["demo_tenant"] = "demo-" + uuid.uuid4().hex[:8]  # another test run may share the servers
    service = embedded.service()
    try:
        async with service.start(plane):
            saved = json.loads((tmp_path / embedded.CREDENTIALS_FILE).read_text())
            assert saved["tenant"] == plane.shared["demo_tenant"] and saved["api_key"].startswith("bk_")
            assert ("ingest gRPC", plane.endpoints[0][1]) == plane.endpoints[0]
            assert service.demo is not None
            lines = await service.demo(plane)
        assert lines[0] == "sent 200 sample events over gRPC: 200 accepted, 0 rejected"
        assert lines[1].startswith("200 of them queryable in ClickHouse")
        assert not (tmp_path / embedded.CREDENTIALS_FILE).exists()
    finally:
        plane.clickhouse.command(f"DROP DATABASE IF EXISTS `tenant_{plane.shared['demo_tenant'].replace('-', '_')}`")
        await plane.broker.close()
        await plane.redis.aclose()
        await plane.postgres.close()
