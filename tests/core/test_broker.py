"""One contract, two brokers: the in-process broker must behave as RabbitMQ does for everything we use."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from barista_core.backends import open_broker
from barista_core.broker import Broker, BrokerUnavailable, Delivery, Message, QueueSpec
from barista_core.errors import BackendError


@pytest.fixture(params=["memory", "amqp"])
async def broker(request) -> AsyncIterator[Broker]:
    if request.param == "memory":
        url = f"memory://test-{uuid.uuid4().hex}"
    else:
        url = request.getfixturevalue("amqp_url")
    broker = await open_broker(url)
    yield broker
    await broker.close()


@pytest.fixture
def names() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {"exchange": f"ex-{suffix}", "dlx": f"dlx-{suffix}", "queue": f"q-{suffix}", "dlq": f"dlq-{suffix}"}


async def next_delivery(deliveries: AsyncIterator[Delivery], timeout: float = 5.0) -> Delivery:
    return await asyncio.wait_for(anext(aiter(deliveries)), timeout)


async def declare(broker: Broker, names: dict[str, str], *patterns: str) -> None:
    await broker.declare_exchange(names["exchange"])
    await broker.declare_exchange(names["dlx"], kind="direct")
    await broker.declare_queue(QueueSpec(name=names["dlq"]))
    await broker.bind_queue(names["dlq"], names["dlx"], names["queue"])
    await broker.declare_queue(
        QueueSpec(name=names["queue"], dead_letter_exchange=names["dlx"], dead_letter_routing_key=names["queue"])
    )
    for pattern in patterns:
        await broker.bind_queue(names["queue"], names["exchange"], pattern)


async def cleanup(broker: Broker, names: dict[str, str]) -> None:
    for queue in (names["queue"], names["dlq"]):
        await broker.delete_queue(queue)
    for exchange in (names["exchange"], names["dlx"]):
        await broker.delete_exchange(exchange)


async def wait_depth(broker: Broker, queue: str, expected: int) -> None:
    async with asyncio.timeout(5):
        while await broker.queue_depth(queue) != expected:
            await asyncio.sleep(0.02)


async def test_publish_routes_by_topic_and_keeps_headers(broker, names):
    await declare(broker, names, "acme.order.*")
    try:
        await broker.publish(
            names["exchange"],
            [
                Message(b"1", routing_key="acme.order.created", headers={"n": 1}, message_id="m1"),
                Message(b"2", routing_key="globex.order.created"),
                Message(b"3", routing_key="acme.order.refunded"),
            ],
        )
        await wait_depth(broker, names["queue"], 2)
        async with broker.consume(names["queue"]) as deliveries:
            first = await next_delivery(deliveries)
            second = await next_delivery(deliveries)
            await first.ack()
            await second.ack()
        assert [first.message.body, second.message.body] == [b"1", b"3"]
        assert first.message.headers["n"] == 1
        assert first.message.message_id == "m1"
        assert first.message.routing_key == "acme.order.created"
        assert not first.redelivered
    finally:
        await cleanup(broker, names)


async def test_nack_with_requeue_redelivers_flagged(broker, names):
    await declare(broker, names, "#")
    try:
        await broker.publish(names["exchange"], [Message(b"x", routing_key="a")])
        async with broker.consume(names["queue"]) as deliveries:
            delivery = await next_delivery(deliveries)
            await delivery.nack(requeue=True)
            again = await next_delivery(deliveries)
            await again.ack()
        assert again.message.body == b"x"
        assert again.redelivered
    finally:
        await cleanup(broker, names)


async def test_rejected_message_goes_to_the_dead_letter_queue(broker, names):
    await declare(broker, names, "#")
    try:
        await broker.publish(names["exchange"], [Message(b"poison", routing_key="a.b")])
        async with broker.consume(names["queue"]) as deliveries:
            await (await next_delivery(deliveries)).nack(requeue=False)
        await wait_depth(broker, names["dlq"], 1)
        assert await broker.queue_depth(names["queue"]) == 0
        async with broker.consume(names["dlq"]) as deliveries:
            dead = await next_delivery(deliveries)
            await dead.ack()
        assert dead.message.body == b"poison"
    finally:
        await cleanup(broker, names)


async def test_unacked_messages_return_when_the_consumer_goes_away(broker, names):
    await declare(broker, names, "#")
    try:
        await broker.publish(names["exchange"], [Message(str(i).encode(), routing_key="k") for i in range(3)])
        async with broker.consume(names["queue"], prefetch=10) as deliveries:
            for _ in range(3):
                await next_delivery(deliveries)  # received, never acked: a crash before the write
        await wait_depth(broker, names["queue"], 3)
        async with broker.consume(names["queue"]) as deliveries:
            redelivered = [await next_delivery(deliveries) for _ in range(3)]
            for delivery in redelivered:
                await delivery.ack()
        assert sorted(d.message.body for d in redelivered) == [b"0", b"1", b"2"]
        assert all(d.redelivered for d in redelivered)
    finally:
        await cleanup(broker, names)


async def test_prefetch_bounds_unacked_deliveries(broker, names):
    await declare(broker, names, "#")
    try:
        await broker.publish(names["exchange"], [Message(b"m", routing_key="k") for _ in range(5)])
        async with broker.consume(names["queue"], prefetch=2) as deliveries:
            held = [await next_delivery(deliveries) for _ in range(2)]
            with pytest.raises(TimeoutError):
                await next_delivery(deliveries, timeout=0.5)
            await held[0].ack()
            third = await next_delivery(deliveries)
            for delivery in (held[1], third):
                await delivery.ack()
    finally:
        await cleanup(broker, names)


async def test_publish_to_a_closed_broker_is_unavailable(broker, names):
    await broker.declare_exchange(names["exchange"])
    await broker.delete_exchange(names["exchange"])
    await broker.close()
    with pytest.raises(BrokerUnavailable):
        await broker.publish(names["exchange"], [Message(b"x", routing_key="k")])


async def test_unknown_scheme_and_unreachable_server_name_the_url():
    with pytest.raises(BackendError, match=r"^kafka://h: unknown broker URL scheme 'kafka'"):
        await open_broker("kafka://h")
    with pytest.raises(BackendError, match=r"^amqp://guest:\*\*\*@127.0.0.1:1/: cannot connect to RabbitMQ"):
        await open_broker("amqp://guest:s3cret@127.0.0.1:1/", timeout=2)
