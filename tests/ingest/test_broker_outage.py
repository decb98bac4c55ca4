"""The broker goes away under load: events are answered UNAVAILABLE, and nothing answered ACCEPTED is lost.

The shared RabbitMQ cannot be stopped from a test, so the ingest server reaches it through a local TCP
proxy that the test cuts: every connection is reset mid-stream (publishes in flight lose their
confirms) and new connections are refused, exactly what clients see when a broker dies; restoring the
proxy is the broker coming back, and the server's robust connection reconnects by itself.
"""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from barista_core.contracts import IngestSettings
from barista_core.proto import events_pb2, events_pb2_grpc
from barista_ingest.app import connect_broker, start_ingest
from tests.ingest.conftest import World, event
from tests.ingest.tcpproxy import TcpProxy

pytestmark = [pytest.mark.services, pytest.mark.asyncio(loop_scope="module")]
ACCEPTED = events_pb2.EventStatus.ACCEPTED
UNAVAILABLE = events_pb2.EventStatus.UNAVAILABLE


async def test_outage_answers_unavailable_and_every_accepted_event_arrives(world: World) -> None:
    tenant = await world.tenant()
    await world.sinker(tenant)  # the sinker has its own, direct connection
    proxy = TcpProxy("127.0.0.1", 5672)
    await proxy.start()
    vhost = world.amqp_url.rsplit("/", 1)[1]
    broker = await connect_broker(
        f"amqp://guest:guest@127.0.0.1:{proxy.port}/{vhost}?reconnect_interval=0.2", publish_timeout=2.0
    )
    settings = IngestSettings.model_validate(
        {"broker_url": world.amqp_url, "redis_url": "redis://127.0.0.1:6379/0", "postgres_url": "postgresql://x/y"}
    )
    ingest = await start_ingest(settings, broker=broker, authenticator=world.verifier, redis=None, port=0,
                                host="127.0.0.1")  # fmt: skip
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{ingest.port}")
    stub = events_pb2_grpc.EventServiceStub(channel)

    sent: dict[str, events_pb2.Event] = {}
    accepted: set[str] = set()
    unavailable: set[str] = set()
    outage = asyncio.Event()
    recovered_after_outage: list[float] = []

    async def publish(batch: list[events_pb2.Event]) -> list[events_pb2.Event]:
        response = await stub.Publish(events_pb2.EventBatch(events=batch), metadata=tenant.metadata, timeout=10)
        retry = []
        for e, status in zip(batch, response.statuses, strict=True):
            assert status.code in (ACCEPTED, UNAVAILABLE), status
            if status.code == ACCEPTED:
                accepted.add(e.id)
                if outage.is_set():
                    recovered_after_outage.append(time.monotonic())
            else:
                assert response.retry_after_ms > 0
                unavailable.add(e.id)
                retry.append(e)
        return retry

    async def client(n: int) -> None:
        for i in range(60):
            batch = [event(properties={"path": f"/{n}/{i}/{j}"}) for j in range(20)]
            sent.update((e.id, e) for e in batch)
            await publish(batch)
            await asyncio.sleep(0.01)

    async def chaos() -> None:
        await asyncio.sleep(0.3)
        await proxy.cut()
        await asyncio.sleep(1.0)
        outage.set()
        await proxy.restore()

    try:
        await asyncio.gather(*(client(n) for n in range(4)), chaos())
        assert unavailable, "the outage produced no UNAVAILABLE answer"
        # clients retry what was UNAVAILABLE with the same ids (safe: sinks deduplicate by id)
        pending = [sent[i] for i in unavailable]
        deadline = time.monotonic() + 20
        while pending:
            assert time.monotonic() < deadline, f"{len(pending)} events still unavailable"
            pending = await publish(pending)
            if pending:
                await asyncio.sleep(0.2)
    finally:
        await channel.close()
        await ingest.stop(grace=1)
        await broker.close()
        await proxy.close()

    assert recovered_after_outage, "nothing was accepted after the broker came back"
    assert accepted == set(sent)
    count = await world.wait_rows(tenant, len(sent), timeout=30)
    stored = world.query(f"SELECT event_id FROM `{tenant.database}`.events FINAL")
    assert count == len(sent) and {row[0] for row in stored} == set(sent)
