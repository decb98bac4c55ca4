"""The gateway inside ``barista up``: started as a Service on opened backends; its demo's curl line works."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid

import pytest
import redis.asyncio as aioredis

from barista_core.backends import open_broker, open_clickhouse, open_postgres
from barista_core.dataplane import DataPlane
from barista_gateway.embedded import service

pytestmark = pytest.mark.services


async def test_service_serves_the_demo_tenant_and_its_curl_line_works(
    tmp_path, pg_url, redis_url, chdb_url, monkeypatch
):
    monkeypatch.setenv("BARISTA_GATEWAY_PORT", "0")
    plane = DataPlane(data_dir=tmp_path, clickhouse_url=chdb_url, postgres_url=pg_url, redis_url=redis_url,
                      broker_url=f"memory://embedded-{uuid.uuid4().hex}")  # fmt: skip
    plane.postgres = await open_postgres(pg_url)
    plane.redis = aioredis.from_url(redis_url)
    plane.clickhouse = open_clickhouse(chdb_url)
    plane.broker = await open_broker(plane.broker_url)
    gateway = service()
    assert gateway.name == "gateway"
    try:
        async with gateway.start(plane):
            assert gateway.demo is not None
            lines = await gateway.demo(plane)
            url = plane.shared["gateway"]["url"]
            assert any(name == "gateway" and where.startswith(url) for name, where in plane.endpoints)
            curl = next(line for line in lines if line.startswith("curl") and "Bearer" in line)
            assert "→ 200: technicalguruji" in "\n".join(lines) or "→ 200: priyankachopra" in "\n".join(lines)
            if shutil.which("curl"):
                process = await asyncio.create_subprocess_exec("bash", "-c", curl, stdout=asyncio.subprocess.PIPE)
                out, _ = await asyncio.wait_for(process.communicate(), 30)
                assert process.returncode == 0
                items = json.loads(out)["items"]
                assert [p["country"] for p in items] == ["IN"] * 3
            # a second start on the same data keeps the same key and does not seed twice
            key_line = lines[0]
        async with gateway.start(plane):
            assert (await gateway.demo(plane))[0] == key_line
    finally:
        await plane.broker.close()
        await plane.redis.aclose()
        await plane.postgres.close()


async def test_barista_token_command(harness, tmp_path):
    from typer.testing import CliRunner

    from barista.cli import app

    url = await harness.serve()
    tenant = await harness.tenant()
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, app, ["token", "--url", url, "--api-key", tenant.key.token])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.count(".") == 2
    me = await harness.client.get("/v1/tenants/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == tenant.name
    # the demo key is found in the data directory when none is given
    (tmp_path / "gateway").mkdir()
    (tmp_path / "gateway" / "demo-api-key").write_text(tenant.key.token)
    again = await asyncio.to_thread(runner.invoke, app, ["token", "--url", url, "-d", str(tmp_path), "--no-curl"])
    assert again.exit_code == 0 and again.stdout.count(".") == 2
    refused = await asyncio.to_thread(
        runner.invoke, app, ["token", "--url", url, "--api-key", tenant.key.token[:-2] + "zz"]
    )
    assert refused.exit_code != 0
    assert "unknown_key" in str(refused.exception)
