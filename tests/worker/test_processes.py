"""Two ``python -m barista_worker`` processes of one flow on the machine's Redis: together they stay within
the flow's rate limit, scrape every target exactly once between them, export metrics and stop cleanly
on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from barista_core.usage import UsageCounter
from tests.conftest import free_port
from tests.worker.conftest import Hit, Reply, Upstream, tenant_name

pytestmark = pytest.mark.timeout(90)

TARGETS = [f"creator{i:02d}" for i in range(24)]
RATE, PERIOD = 4, 1.0  # 4 requests per second for the whole flow, a full bucket to start with
EMISSION = PERIOD / RATE


def worker_env(replica: str, *, upstream: Upstream, tenant: str, amqp_url: str, redis_url: str, prefix: str,
               probe_port: int) -> dict[str, str]:  # fmt: skip
    http_json = {
        "urlTemplate": upstream.url + "/creators/{target}",
        "headers": {"x-replica": replica},  # only so the test can tell the processes apart
        "fields": {"handle": "handle", "followers": "followers"},
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BARISTA_")}
    return clean | {
        "BARISTA_TENANT": tenant,
        "BARISTA_FLOW_NAME": "shared",
        "BARISTA_SOURCE": "http.json",
        "BARISTA_TARGETS": json.dumps(TARGETS),
        "BARISTA_INTERVAL_SECONDS": "600",
        "BARISTA_CONCURRENCY": "4",
        "BARISTA_RATE_LIMIT_REQUESTS": str(RATE),
        "BARISTA_RATE_LIMIT_PERIOD_SECONDS": str(PERIOD),
        "BARISTA_RATE_LIMIT_SCOPE": "flow",
        "BARISTA_HTTP_JSON": json.dumps(http_json),
        "BARISTA_BROKER_URL": amqp_url,
        "BARISTA_REDIS_URL": redis_url,
        "BARISTA_REDIS_KEY_PREFIX": prefix,
        "BARISTA_PROBE_PORT": str(probe_port),
        "BARISTA_LOG_FORMAT": "json",
        "BARISTA_SHUTDOWN_GRACE_SECONDS": "5",
    }


class Process:
    def __init__(self, process: asyncio.subprocess.Process, probe_port: int) -> None:
        self.process = process
        self.probe_port = probe_port
        self.logs: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            text = line.decode(errors="replace").rstrip()
            self.raw.append(text)
            with contextlib.suppress(json.JSONDecodeError):
                self.logs.append(json.loads(text))

    def logged(self, event: str) -> list[dict[str, Any]]:
        return [entry for entry in self.logs if entry.get("event") == event]


async def test_two_processes_share_the_rate_limit_and_the_targets(
    upstream: Upstream, amqp_url: str, redis_url: str, redis_prefix: str
):
    upstream.route_fn("/creators/", lambda hit: Reply(json={"handle": hit.path.rsplit("/", 1)[1], "followers": 10}))
    replicas_seen: set[str] = set()
    both = asyncio.Event()

    async def hold_until_both_replicas_asked(hit: Hit) -> None:
        # answers wait until both processes are sending, so each gets a share however slowly either starts
        replicas_seen.add(hit.headers["x-replica"])
        if len(replicas_seen) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 60)

    upstream.before = hold_until_both_replicas_asked
    tenant = tenant_name()
    processes = []
    for replica in ("a", "b"):
        port = free_port()
        env = worker_env(replica, upstream=upstream, tenant=tenant, amqp_url=amqp_url, redis_url=redis_url,
                         prefix=redis_prefix, probe_port=port)  # fmt: skip
        spawned = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "barista_worker", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        processes.append(Process(spawned, port))
    try:
        deadline = time.monotonic() + 60
        while not all(p.logged("run finished") for p in processes):
            assert time.monotonic() < deadline, "\n".join(line for p in processes for line in p.raw[-20:])
            assert all(p.process.returncode is None for p in processes), "\n".join(p.raw[-1] for p in processes)
            await asyncio.sleep(0.05)

        # every target exactly once across both processes, and both took part
        assert sorted(h.path for h in upstream.hits) == [f"/creators/{t}" for t in TARGETS]
        runs = [p.logged("run finished")[0] for p in processes]
        assert len({r["run"] for r in runs}) == 1
        assert [r["succeeded"] for r in runs] == [
            sum(1 for h in upstream.hits if h.headers["x-replica"] == name) for name in ("a", "b")
        ]
        assert all(r["succeeded"] > 0 for r in runs) and sum(r["succeeded"] + r["failed"] for r in runs) == 24
        # every request counts towards the tenant's scrape usage (GET /v1/usage on the gateway)
        redis = aioredis.from_url(redis_url)
        try:
            usage = await UsageCounter(redis, prefix=redis_prefix).read(tenant)
        finally:
            await redis.aclose()
        assert usage["today"]["scrapes"] == len(upstream.hits) == 24

        # Together within the limit: a full bucket of RATE, then one request per EMISSION interval, so the
        # last request is admitted (24 - 4) * 0.25 = 5 s after the first. Arrival times lag admission by
        # up to LAG (the first requests of a freshly started process open connections). Buckets per
        # process instead of one shared bucket would take ~2 s; no limiter ~0.1 s.
        lag = 0.5
        arrivals = sorted(h.at for h in upstream.hits)
        assert arrivals[-1] - arrivals[0] >= (len(TARGETS) - RATE) * EMISSION - lag
        busiest = max(sum(1 for t in arrivals if start <= t < start + PERIOD) for start in arrivals)
        assert busiest <= RATE + (PERIOD + lag) / EMISSION  # admitted within PERIOD + lag: at most 10

        # the probe port serves readiness and the worker's metrics
        async with httpx.AsyncClient() as client:
            ready = await client.get(f"http://127.0.0.1:{processes[0].probe_port}/readyz")
            metrics = await client.get(f"http://127.0.0.1:{processes[0].probe_port}/metrics")
        assert ready.status_code == 200
        assert (
            f'barista_worker_requests_total{{outcome="ok",source="http.json"}} {runs[0]["succeeded"]}.0' in metrics.text
        )
        assert "barista_worker_limiter_waits_total" in metrics.text
        assert "barista_worker_last_run_timestamp_seconds" in metrics.text
    finally:
        for p in processes:
            if p.process.returncode is None:
                p.process.send_signal(signal.SIGTERM)
        codes = [await asyncio.wait_for(p.process.wait(), 30) for p in processes]
        for p in processes:
            await p.reader
    assert codes == [0, 0], "\n".join(line for p in processes for line in p.raw[-10:])
    for p in processes:
        assert p.logged("worker stopped") and p.logged("worker process stopped")
        assert not any("Traceback" in line for line in p.raw)
