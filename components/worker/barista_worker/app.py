"""The worker process: open backends from settings, serve probes, run the flow, drain on SIGTERM/SIGINT.

:func:`start_worker` builds a running :class:`RunningWorker` on already-opened backends (``barista up``
hands over its embedded ones); :func:`serve` owns a whole process's lifecycle.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx

from barista_core.backends import open_broker, open_redis
from barista_core.broker import Broker
from barista_core.contracts import WorkerSettings
from barista_core.events import EventIngestor, EventPublisher
from barista_core.health import Health, serve_probes, stop_on_signals
from barista_core.logging import configure_logging, get_logger
from barista_core.naming import EVENTS_EXCHANGE
from barista_worker.fetch import RetryPolicy
from barista_worker.model import Flow
from barista_worker.sources import build_flow
from barista_worker.worker import Worker, load_targets, schedule_of

log = get_logger(__name__)


@dataclass
class RunningWorker:
    worker: Worker
    publisher: EventPublisher
    task: asyncio.Task[None]

    async def stop(self, grace: float) -> None:
        """Take no new targets, let those under way finish (up to ``grace`` s), flush publishes."""
        self.worker.stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), grace)
        except TimeoutError:
            log.warning("targets still under way after the grace period: cancelling", grace_s=grace)
            self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.publisher.close()
        await self.worker.close()


async def start_worker(
    settings: WorkerSettings,
    *,
    broker: Broker,
    redis: Any,
    http: httpx.AsyncClient | None = None,
    flow: Flow | None = None,
    retry: RetryPolicy | None = None,
) -> RunningWorker:
    """Build the worker on opened backends and start its run loop as a task."""
    publisher = EventPublisher(broker)
    worker = Worker(settings, redis=redis, ingestor=EventIngestor(publisher), http=http, flow=flow, retry=retry)
    await publisher.start()
    task = asyncio.get_running_loop().create_task(worker.run_forever(), name=f"worker:{settings.flow_name}")
    return RunningWorker(worker, publisher, task)


def check_config(settings: WorkerSettings) -> Flow:
    """Everything the settings alone decide, before any backend is opened: the flow (credentials,
    ``BARISTA_HTTP_JSON``), the schedule and the targets. Raises :class:`ConfigError` in one line."""
    flow = build_flow(settings)
    schedule_of(settings)
    load_targets(settings)
    return flow


async def serve(settings: WorkerSettings) -> None:
    """``python -m barista_worker``: run the flow until SIGTERM/SIGINT, then drain."""
    flow = check_config(settings)
    configure_logging(settings.log_level, settings.log_format, component="worker")
    stop = stop_on_signals()
    health = Health()
    async with AsyncExitStack() as stack:
        broker = await open_broker(settings.broker_url.get_secret_value())
        stack.push_async_callback(broker.close)
        redis = await open_redis(settings.redis_url.get_secret_value())
        stack.push_async_callback(redis.aclose)
        running = await start_worker(settings, broker=broker, redis=redis, flow=flow)
        health.add_check("broker", lambda: broker.declare_exchange(EVENTS_EXCHANGE))
        health.add_check("redis", redis.ping)
        probes = await serve_probes(health, port=settings.probe_port)
        stack.callback(probes.close)
        log.info("worker ready", flow=settings.flow_name, source=settings.source, probe_port=settings.probe_port)
        stopped = asyncio.get_running_loop().create_task(stop.wait())
        await asyncio.wait({stopped, running.task}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if running.task.done() and not stop.is_set():
            running.task.result()  # the run loop died: raise its error (the pod restarts)
        log.info("draining", grace_s=settings.shutdown_grace_seconds)
        health.ready_gate = False
        await running.stop(settings.shutdown_grace_seconds)
    log.info("worker process stopped")
