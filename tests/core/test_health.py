from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
from prometheus_client import Counter

from barista_core.health import Health, serve_probes


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


async def test_probes_report_checks_and_metrics():
    health = Health(check_timeout=0.5)
    state = {"ok": True}

    async def database() -> None:
        if not state["ok"]:
            raise ConnectionError("connection refused")

    async def slow() -> None:
        await asyncio.sleep(0)

    health.add_check("database", database)
    health.add_check("slow", slow)
    Counter("barista_test_probe_total", "a counter for the probe test").inc()
    server = await serve_probes(health, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    try:
        status, body = await asyncio.to_thread(get, base + "/readyz")
        assert status == 200 and json.loads(body)["checks"] == {"database": "ok", "slow": "ok"}
        state["ok"] = False
        status, body = await asyncio.to_thread(get, base + "/readyz")
        assert status == 503
        assert json.loads(body)["checks"]["database"] == "ConnectionError: connection refused"
        status, _ = await asyncio.to_thread(get, base + "/healthz")
        assert status == 200  # liveness does not depend on backends
        status, body = await asyncio.to_thread(get, base + "/metrics")
        assert status == 200 and b"barista_test_probe_total 1.0" in body
        status, _ = await asyncio.to_thread(get, base + "/nope")
        assert status == 404
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("gate", [True, False])
async def test_draining_makes_readiness_fail(gate):
    health = Health()
    health.ready_gate = gate
    assert (await health.readiness()).ok is gate


async def test_a_hanging_check_times_out():
    health = Health(check_timeout=0.1)

    async def hangs() -> None:
        await asyncio.sleep(10)

    health.add_check("hangs", hangs)
    report = await health.readiness()
    assert not report.ok and report.checks["hangs"].startswith("TimeoutError")
