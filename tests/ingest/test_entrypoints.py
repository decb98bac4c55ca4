"""``python -m barista_ingest serve|sink`` as the chart runs them: settings from the environment, probes and
metrics on the probe port, and a graceful stop on SIGTERM (in-flight calls finish; the buffer is flushed)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from barista_core.naming import sink_queue
from barista_core.proto import events_pb2, events_pb2_grpc
from tests.conftest import free_port
from tests.ingest.conftest import World, event
from tests.ingest.httpreceiver import Receiver

pytestmark = [pytest.mark.services, pytest.mark.asyncio(loop_scope="module")]
ROOT = Path(__file__).resolve().parents[2]


def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def start(mode: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "barista_ingest", mode, cwd=ROOT,
        env={**os.environ, "BARISTA_LOG_FORMAT": "json", **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def until(predicate, timeout: float = 30.0, process: asyncio.subprocess.Process | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.returncode is not None:
            raise AssertionError(f"process exited: {(await process.stderr.read()).decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if await asyncio.to_thread(predicate):
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def metric(text: str, name: str) -> float:
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)]
    return sum(values)


async def test_serve_answers_health_probes_and_drains_on_sigterm(world: World, module_pg_url: str) -> None:
    tenant = await world.tenant()
    grpc_port, probe_port = free_port(), free_port()
    process = await start("serve", {
        "BARISTA_BROKER_URL": world.amqp_url, "BARISTA_REDIS_URL": "redis://127.0.0.1:6379/0",
        "BARISTA_POSTGRES_URL": module_pg_url, "BARISTA_GRPC_HOST": "127.0.0.1",
        "BARISTA_GRPC_PORT": str(grpc_port), "BARISTA_PROBE_PORT": str(probe_port),
        "BARISTA_SHUTDOWN_GRACE_SECONDS": "10",
    })  # fmt: skip
    try:
        await until(lambda: http_get(probe_port, "/readyz")[0] == 200, process=process)
        _, body = http_get(probe_port, "/readyz")
        assert json.loads(body)["checks"] == {"broker": "ok", "redis": "ok", "postgres": "ok"}
        assert http_get(probe_port, "/healthz")[0] == 200

        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            assert (
                await health.Check(health_pb2.HealthCheckRequest())
            ).status == health_pb2.HealthCheckResponse.SERVING
            stub = events_pb2_grpc.EventServiceStub(channel)
            answer = await stub.Publish(events_pb2.EventBatch(events=[event(), event(id="nope")]),
                                        metadata=tenant.metadata)  # fmt: skip
            assert (answer.accepted, answer.rejected) == (1, 1)
            text = http_get(probe_port, "/metrics")[1]
            assert metric(text, 'barista_ingest_events_received_total{transport="grpc"}') >= 2
            assert metric(text, 'barista_ingest_events_rejected_total{reason="invalid_id"}') >= 1
            assert metric(text, "barista_ingest_events_published_total") >= 1
            assert "barista_ingest_rpc_seconds_bucket" in text and "barista_ingest_batch_events_bucket" in text

            # a stream is in flight when SIGTERM arrives: it may finish within the grace period
            second_batch = asyncio.Event()

            async def requests():
                yield events_pb2.EventBatch(events=[event()], batch_id="before")
                await second_batch.wait()
                yield events_pb2.EventBatch(events=[event()], batch_id="after")

            call = stub.PublishStream(requests(), metadata=tenant.metadata)
            first = await call.read()
            assert first.batch_id == "before" and first.accepted == 1
            process.send_signal(signal.SIGTERM)
            await until(lambda: http_get(probe_port, "/readyz")[0] == 503, timeout=10)  # out of rotation first
            second_batch.set()
            second = await call.read()
            assert second.batch_id == "after" and second.accepted == 1
            assert await call.read() == grpc.aio.EOF
            assert await call.code() == grpc.StatusCode.OK
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sink_delivers_reports_metrics_and_flushes_on_sigterm(world: World, receiver: Receiver) -> None:
    tenant = await world.tenant()
    probe_port = free_port()
    queue = sink_queue(tenant.name, "hook")
    world.queues.update((queue, queue + ".dead"))
    process = await start("sink", {
        "BARISTA_TENANT": tenant.name, "BARISTA_SINK_NAME": "hook", "BARISTA_QUEUE": queue,
        "BARISTA_BROKER_URL": world.amqp_url, "BARISTA_DESTINATION": "webhook",
        "BARISTA_WEBHOOK_URL": receiver.url, "BARISTA_WEBHOOK_SECRET": "k", "BARISTA_PROBE_PORT": str(probe_port),
        "BARISTA_BATCH_MAX_DELAY_MS": "60000", "BARISTA_EVENT_TYPES": '["page.*"]',
    })  # fmt: skip
    try:
        await until(lambda: http_get(probe_port, "/readyz")[0] == 200, process=process)  # queue declared by then
        sent = [event() for _ in range(5)]
        await world.publish(tenant, [*sent, event("app.opened", properties={})])  # app.opened is not wanted
        await until(lambda: metric(http_get(probe_port, "/metrics")[1],
                                   'barista_sink_buffered_events{sink="hook"}') == 5)  # fmt: skip
        assert receiver.requests == []  # the batch would wait a minute
        text = http_get(probe_port, "/metrics")[1]
        assert f'barista_sink_queue_depth{{queue="{queue}",sink="hook"}}' in text
        assert 'barista_sink_events_written_total{destination="webhook",sink="hook"}' not in text or metric(
            text, 'barista_sink_events_written_total{destination="webhook",sink="hook"}') == 0  # fmt: skip
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
        delivered = [e["id"] for r in receiver.requests for e in json.loads(r.body)["events"]]
        assert sorted(delivered) == sorted(e.id for e in sent)
        assert await world.broker.queue_depth(queue) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
