"""End to end over gRPC on the real RabbitMQ and chdb: events land in ClickHouse with their properties."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
import orjson
import pytest

from barista_core.proto import events_pb2
from barista_core.usage import UsageCounter
from tests.ingest.conftest import World, event

pytestmark = [pytest.mark.services, pytest.mark.asyncio(loop_scope="module")]
ACCEPTED = events_pb2.EventStatus.ACCEPTED
REJECTED = events_pb2.EventStatus.REJECTED


async def test_published_events_are_queryable_with_their_properties(world: World) -> None:
    tenant = await world.tenant()
    await world.sinker(tenant)
    now = int(time.time() * 1000)
    order = event(
        "order.completed",
        properties={"order_id": "o-1", "total": 499.5, "currency": "INR", "items": [{"sku": "a", "qty": 2}]},
        occurred_ms=now - 1000,
    )
    view = event("page.viewed", properties={"path": "/p/1", "title": "Shoes"}, json_properties=True)
    custom = event("custom.wishlist_shared", properties={"nested": {"deep": {"er": True}}, "n": 3})
    response = await world.publish(tenant, [order, view, custom], batch_id="b-1")

    assert [s.code for s in response.statuses] == [ACCEPTED] * 3
    assert (response.accepted, response.rejected, response.batch_id) == (3, 0, "b-1")
    assert await world.wait_rows(tenant, 3) == 3
    rows = world.query(
        f"SELECT event_id, event_type, user_id, props.order_id, props.total, JSONExtractString(properties, 'path'),"
        f" props.nested.deep.er, toUnixTimestamp64Milli(occurred_at) FROM `{tenant.database}`.events FINAL"
        " ORDER BY event_type"
    )
    by_type = {row[1]: row for row in rows}
    assert by_type["order.completed"][0] == order.id
    assert by_type["order.completed"][3:5] == ("o-1", 499.5)
    assert by_type["order.completed"][7] == now - 1000
    assert by_type["page.viewed"][5] == "/p/1"
    assert by_type["custom.wishlist_shared"][6] is True
    items = world.query(f"SELECT properties FROM `{tenant.database}`.events WHERE event_type = 'order.completed'")
    assert orjson.loads(items[0][0])["items"] == [{"sku": "a", "qty": 2}]  # whole numbers stay integers


async def test_mixed_batch_accepts_the_valid_events_and_says_why_others_are_rejected(world: World) -> None:
    tenant = await world.tenant()
    await world.sinker(tenant)
    now = int(time.time() * 1000)
    good = [event(properties={"path": f"/{i}"}) for i in range(3)]
    missing_prop = event("order.completed", properties={"order_id": "o-1", "currency": "INR"})
    wrong_kind = event("order.completed", properties={"order_id": "o-2", "total": "lots", "currency": "INR"})
    bad_id = event(id="not-an-id")
    unknown = event("spaceship.launched")
    too_old = event(occurred_ms=now - 40 * 86_400_000)
    future = event(occurred_ms=now + 3_600_000)
    no_time = events_pb2.Event(id=str(uuid.uuid4()), type="app.opened")
    duplicate = event(id=good[0].id)
    deep: dict[str, object] = {"path": "/"}
    cursor = deep
    for _ in range(12):
        cursor["x"] = {}
        cursor = cursor["x"]  # type: ignore[assignment]
    too_deep = event(properties=deep)
    too_big = event(properties={"path": "/", "blob": "x" * 40_000})
    both = event(properties={"path": "/"})
    both.properties_json = b'{"path": "/"}'
    batch = [good[0], missing_prop, wrong_kind, good[1], bad_id, unknown, too_old, future, no_time, duplicate,
             too_deep, too_big, both, good[2]]  # fmt: skip

    response = await world.publish(tenant, batch)

    got = [(s.code, s.reason.split(":")[0], s.field) for s in response.statuses]
    assert got == [
        (ACCEPTED, "", ""),
        (REJECTED, "missing_property", "properties.total"),
        (REJECTED, "invalid_property", "properties.total"),
        (ACCEPTED, "", ""),
        (REJECTED, "invalid_id", "id"),
        (REJECTED, "unknown_type", "type"),
        (REJECTED, "timestamp_too_old", "occurred_at"),
        (REJECTED, "timestamp_in_future", "occurred_at"),
        (REJECTED, "missing_timestamp", "occurred_at"),
        (REJECTED, "duplicate_id", "id"),
        (REJECTED, "properties_too_deep", "properties"),
        (REJECTED, "properties_too_large", "properties"),
        (REJECTED, "invalid_properties", "properties_json"),
        (ACCEPTED, "", ""),
    ]
    assert [s.id for s in response.statuses] == [e.id for e in batch]
    assert (response.accepted, response.rejected) == (3, 11)
    assert await world.wait_rows(tenant, 3) == 3
    stored = {r[0] for r in world.query(f"SELECT event_id FROM `{tenant.database}`.events")}
    assert stored == {e.id for e in good}
    # the accepted ones, and only they, count towards the tenant's usage (GET /v1/usage on the gateway)
    usage = UsageCounter(world.redis, prefix=world.prefix)
    deadline = time.monotonic() + 10
    while (await usage.read(tenant.name))["today"]["events"] < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert (await usage.read(tenant.name))["today"]["events"] == 3


async def test_stream_answers_every_batch_in_order(world: World) -> None:
    tenant = await world.tenant()
    await world.sinker(tenant)
    batches = [
        events_pb2.EventBatch(events=[event(properties={"path": f"/{b}/{i}"}) for i in range(50)], batch_id=f"b{b}")
        for b in range(12)
    ]
    batches[5].events.append(event("nope.nope"))

    async def requests():
        for batch in batches:
            yield batch

    call = world.stub.PublishStream(requests(), metadata=tenant.metadata, timeout=30)
    responses = [r async for r in call]

    assert [r.batch_id for r in responses] == [f"b{b}" for b in range(12)]
    assert [r.accepted for r in responses] == [50] * 12
    assert responses[5].rejected == 1 and responses[5].statuses[-1].reason.startswith("unknown_type")
    assert await world.wait_rows(tenant, 600) == 600


async def test_batch_limits_refuse_the_whole_batch_and_name_the_limit(world: World) -> None:
    tenant = await world.tenant()
    many = events_pb2.EventBatch(events=[event() for _ in range(10_001)])
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await world.stub.Publish(many, metadata=tenant.metadata)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "10001 events" in info.value.details() and "limit is 10000 events" in info.value.details()

    big = events_pb2.EventBatch(events=[event(properties={"path": "/", "blob": "y" * 30_000}) for _ in range(150)])
    assert big.ByteSize() > 4 * 1024 * 1024
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await world.stub.Publish(big, metadata=tenant.metadata)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "bytes" in info.value.details() and "4194304" in info.value.details()

    exactly = events_pb2.EventBatch(events=[event() for _ in range(10_000)])
    response = await world.stub.Publish(exactly, metadata=tenant.metadata, timeout=60)
    assert response.accepted == 10_000
