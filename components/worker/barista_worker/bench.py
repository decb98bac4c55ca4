"""``python -m barista_worker.bench``: what the worker's machinery costs per request.

Against one local JSON server (:class:`~barista_worker.localserver.LocalJsonServer`), with the same
HTTP client settings and concurrency, it measures requests per second of

1. a raw loop: ``concurrency`` tasks each awaiting ``httpx.AsyncClient.get`` in turn;
2. the pool alone: fetch, parse (http.json mapping), publish snapshots through the event path
   (validation, in-process broker with confirms) — no rate limit, no claims;
3. a real run: as 2, plus a token from the distributed limiter in Redis for every request and a claim
   in Redis for every target (what a deployed worker does).

and prints each with its ratio to the raw loop, then one JSON line with the same figures. Redis:
``BARISTA_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``; keys under a unique prefix, deleted
afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from typing import Any

import httpx

from barista_core.backends import open_broker, open_redis
from barista_core.contracts import WorkerSettings
from barista_core.events import EventIngestor, EventPublisher
from barista_core.logging import configure_logging
from barista_worker.localserver import LocalJsonServer
from barista_worker.worker import Worker


def _handler(method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
    handle = path.rsplit("/", 1)[-1]
    return 200, {"handle": handle, "followers": len(handle) * 1000, "posts": 42, "bio": "benchmark creator"}


async def raw_loop(url: str, count: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=20.0) as client:
        counter = iter(range(count))

        async def work() -> None:
            for index in counter:
                response = await client.get(f"{url}/bench/c{index}")
                response.json()

        started = time.perf_counter()
        await asyncio.gather(*(work() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


async def worker_run(url: str, count: int, concurrency: int, redis_url: str, *, limited: bool) -> float:
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    redis = await open_redis(redis_url, max_connections=concurrency + 4)
    broker = await open_broker(f"memory://bench-{uuid.uuid4().hex[:6]}")
    publisher = EventPublisher(broker)
    await publisher.start()
    targets = [f"c{i}" for i in range(count)]
    values: dict[str, Any] = {
        "tenant": "bench",
        "flow_name": "bench",
        "source": "http.json",
        "targets": targets,
        "interval_seconds": 3600,
        "concurrency": concurrency,
        "http_json": {"urlTemplate": url + "/bench/{target}", "fields": {"handle": "handle", "followers": "followers",
                                                                         "posts": "posts", "bio": "bio"}},
        "broker_url": broker.url,
        "redis_url": redis_url,
        "redis_key_prefix": prefix,
    }  # fmt: skip
    if limited:  # a limit far above what is reached: every request still takes a token from Redis
        values |= {"rate_limit_requests": 1_000_000, "rate_limit_period_seconds": 1.0, "rate_limit_scope": "flow"}
    worker = Worker(WorkerSettings.model_validate(values), redis=redis, ingestor=EventIngestor(publisher))
    try:
        started = time.perf_counter()
        if limited:
            result = await worker.run_window(await worker.coordinator.begin_interval(3600))
        else:
            result = await worker.pool.run(targets, run_id="bench")
        elapsed = time.perf_counter() - started
        if result.succeeded != count:
            raise RuntimeError(f"only {result.succeeded} of {count} targets succeeded: {result.failures}")
        return count / elapsed
    finally:
        await worker.close()
        await publisher.close()
        await broker.close()
        keys = [k async for k in redis.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def main(count: int, concurrency: int, redis_url: str, rounds: int) -> None:
    configure_logging("ERROR", "console")
    async with LocalJsonServer(_handler) as server:
        await raw_loop(server.url, min(count, 500), concurrency)  # warm up
        best: dict[str, float] = {"raw": 0.0, "pool": 0.0, "run": 0.0}
        for _ in range(rounds):
            best["raw"] = max(best["raw"], await raw_loop(server.url, count, concurrency))
            best["pool"] = max(best["pool"], await worker_run(server.url, count, concurrency, redis_url, limited=False))
            best["run"] = max(best["run"], await worker_run(server.url, count, concurrency, redis_url, limited=True))
    print(f"{count} requests, concurrency {concurrency}, best of {rounds} rounds, local JSON server, Redis {redis_url}")
    labels = {
        "raw": "raw httpx loop",
        "pool": "pool: fetch + parse + publish",
        "run": "run: + limiter token + claim (Redis)",
    }
    for key, label in labels.items():
        print(f"  {label:<40} {best[key]:>8.0f} req/s   ratio {best[key] / best['raw']:.2f}")
    summary = {
        "raw_rps": round(best["raw"]),
        "pool_rps": round(best["pool"]),
        "run_rps": round(best["run"]),
        "ratio_pool_to_raw": round(best["pool"] / best["raw"], 3),
        "ratio_run_to_raw": round(best["run"] / best["raw"], 3),
    }
    print(json.dumps(summary))


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m barista_worker.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per measurement (at most 10000)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-url", default=os.environ.get("BARISTA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    asyncio.run(main(min(args.requests, 10_000), args.concurrency, args.redis_url, args.rounds))


if __name__ == "__main__":
    cli()
