"""The worker inside ``barista up``: the demo flow scrapes its own local creators API and publishes enriched
``profile.snapshot`` events for the demo tenant (here on Redis and the in-process broker; the full
``barista up`` path to ClickHouse is tests/cli/test_up.py)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from barista_core.broker import Broker, QueueSpec
from barista_core.dataplane import DataPlane
from barista_core.events import message_events
from barista_core.naming import EVENTS_EXCHANGE
from barista_worker import demo as demo_api
from barista_worker.embedded import FLOW, service
from tests.worker.conftest import tenant_name

pytestmark = pytest.mark.timeout(60)


async def test_the_demo_flow_publishes_enriched_profile_snapshots(
    tmp_path, redis_url: str, redis_client: aioredis.Redis, memory_broker: Broker
):
    tenant = tenant_name()
    plane = DataPlane(data_dir=tmp_path, clickhouse_url="", postgres_url="", redis_url=redis_url,
                      broker_url=memory_broker.url, redis=redis_client, broker=memory_broker)  # fmt: skip
    plane.shared["demo_tenant"] = tenant
    queue = f"demo-{uuid.uuid4().hex[:8]}"
    await memory_broker.declare_exchange(EVENTS_EXCHANGE)
    await memory_broker.declare_queue(QueueSpec(name=queue))
    await memory_broker.bind_queue(queue, EVENTS_EXCHANGE, f"{tenant}.#")
    expected = sum(len(rows) for rows in demo_api.CREATORS.values())
    try:
        async with service().start(plane):
            worker = plane.shared["worker"]
            await asyncio.wait_for(worker.ran.wait(), 30)
            result = worker.last_result
            assert (result.succeeded, result.failed, result.snapshots) == (len(demo_api.CREATORS), 0, expected)
            assert any(name == "scrape demo" for name, _ in plane.endpoints)
        events = []
        async with memory_broker.consume(queue) as deliveries:
            while len(events) < expected:
                delivery = await asyncio.wait_for(anext(deliveries), 5)
                assert delivery.message.routing_key == f"{tenant}.profile.snapshot"
                events.extend(message_events(delivery.message))
                await delivery.ack()
    finally:
        keys = [k async for k in redis_client.scan_iter(match=f"barista:*{tenant}*", count=1000)]
        if keys:
            await redis_client.delete(*keys)
    by_handle = {e["properties"]["handle"]: e["properties"] for e in events}
    assert set(by_handle) == {row[0] for rows in demo_api.CREATORS.values() for row in rows}
    assert by_handle["ghumakkad.dev"]["language"] == "hi"  # enrichment: Devanagari bio
    assert by_handle["chef.amara"]["category"] == "food" and by_handle["wander.lena"]["category"] == "travel"
    assert all(e["context"]["extra"]["flow"] == FLOW for e in events)
