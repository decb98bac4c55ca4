"""The worker inside ``barista up``: one demo ScrapeFlow on the embedded backends.

The flow (``demo-creators``, source ``http.json``) scrapes a small creators API the service serves
itself on 127.0.0.1 (:mod:`barista_worker.demo`; there is no internet here) every 5 minutes, with
category and language enrichment, under a rate limit in the embedded Redis. Its ``profile.snapshot``
events take the same path as in a cluster — catalogue validation, the ``barista.events`` exchange with
routing key ``<tenant>.profile.snapshot`` — to the demo tenant's ClickHouse sinker (the ingest
service's). Each ``barista up`` starts a fresh run. The demo prints the first run's summary and the
snapshots it finds in ClickHouse.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from barista_core.contracts import WorkerSettings
from barista_core.dataplane import DataPlane, Service
from barista_core.naming import tenant_database
from barista_worker import demo as demo_api
from barista_worker.app import RunningWorker, start_worker
from barista_worker.localserver import LocalJsonServer

FLOW = "demo-creators"
DEFAULT_TENANT = "demo"
_SHARED_KEY = "worker"


def service() -> Service:
    return Service(name="worker", start=_start, demo=_demo, order=80)


def demo_settings(plane: DataPlane, tenant: str, api_url: str) -> WorkerSettings:
    return WorkerSettings.model_validate(
        {
            "tenant": tenant,
            "flow_name": FLOW,
            "source": "http.json",
            "targets": list(demo_api.CREATORS),
            "interval_seconds": 300,
            "concurrency": 4,
            "rate_limit_requests": 60,
            "rate_limit_period_seconds": 60.0,
            "rate_limit_scope": "flow",
            "http_json": {
                "urlTemplate": f"{api_url}/demo/creators/{{target}}.json",
                "method": "GET",
                "itemsPath": "creators[*]",
                "fields": demo_api.HTTP_JSON_FIELDS,
            },
            "enrich_categories": True,
            "enrich_language": True,
            "broker_url": plane.broker_url,
            "redis_url": plane.redis_url,
            "shutdown_grace_seconds": 5.0,
        }
    )


@asynccontextmanager
async def _start(plane: DataPlane) -> AsyncIterator[None]:
    assert plane.broker is not None
    tenant = plane.shared.get("demo_tenant", DEFAULT_TENANT)
    server = await LocalJsonServer(demo_api.handler).start()
    running: RunningWorker | None = None
    try:
        settings = demo_settings(plane, tenant, server.url)
        # a new `barista up` scrapes at once instead of joining the window of the previous one
        await plane.redis.delete(f"{settings.redis_key_prefix}worker:{tenant}:{FLOW}:run")
        running = await start_worker(settings, broker=plane.broker, redis=plane.redis)
        plane.shared[_SHARED_KEY] = running.worker
        where = f"{server.url}/demo/creators/<category>.json (flow {FLOW}, every 5 min)"
        plane.endpoints.append(("scrape demo", where))
        yield
    finally:
        if running is not None:
            await running.stop(grace=5.0)
        await server.close()


async def _demo(plane: DataPlane) -> list[str]:
    worker = plane.shared[_SHARED_KEY]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(worker.ran.wait(), 30)
    result = worker.last_result
    if result is None:
        return ["the first scrape run did not finish within 30 s"]
    lines = [
        f"scrape flow {FLOW} (http.json, local creators API): {result.succeeded} targets succeeded, "
        f"{result.failed} failed, {result.snapshots} profile.snapshot events in {result.duration:.2f} s"
    ]
    tenant = worker.settings.tenant
    table = f"`{tenant_database(tenant)}`.events"
    rows = await _wait_rows(plane.clickhouse, table, result.run_id, result.snapshots)
    if not rows:
        lines.append(f"no snapshots of run {result.run_id} in ClickHouse {table} yet (is a sinker bound?)")
        return lines
    top = max(rows, key=lambda r: r[3])
    lines.append(
        f"{len(rows)} snapshots of run {result.run_id} in ClickHouse {table}; categories "
        f"{', '.join(sorted({r[1] for r in rows if r[1]}))}; top: @{top[0]} ({top[2]}) {top[3]:,} followers"
    )
    return lines


async def _wait_rows(clickhouse: Any, table: str, run_id: str, expected: int, timeout: float = 15.0) -> list[Any]:
    """The run's profile snapshots in ClickHouse (handle, category, language, followers), polling until all
    ``expected`` are there or ``timeout`` passes."""
    query = (
        f"SELECT JSONExtractString(properties, 'handle'), JSONExtractString(properties, 'category'), "
        f"JSONExtractString(properties, 'language'), JSONExtractUInt(properties, 'followers') "
        f"FROM {table} FINAL WHERE event_type = 'profile.snapshot' "
        f"AND JSONExtractString(context, 'extra', 'run') = {{run:String}}"
    )
    deadline = time.monotonic() + timeout
    rows: list[Any] = []
    while True:
        try:
            rows = await asyncio.to_thread(lambda: clickhouse.query(query, parameters={"run": run_id}).result_rows)
        except Exception:  # the table appears with the sinker's first batch
            rows = []
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)
