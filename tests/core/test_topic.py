"""The in-process broker routes by RabbitMQ's topic rules; checked against the real RabbitMQ too."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from barista_core.broker import Message, QueueSpec, topic_matches

CASES = [
    ("#", "a", True),
    ("#", "a.b.c", True),
    ("#", "", True),
    ("*", "a", True),
    ("*", "a.b", False),
    ("*", "", False),
    ("a.*", "a.b", True),
    ("a.*", "a", False),
    ("a.*", "a.b.c", False),
    ("a.#", "a", True),
    ("a.#", "a.b.c", True),
    ("a.#", "b.a", False),
    ("#.c", "c", True),
    ("#.c", "a.b.c", True),
    ("#.c", "a.c.d", False),
    ("a.#.c", "a.c", True),
    ("a.#.c", "a.b.b.c", True),
    ("a.#.c", "a.b", False),
    ("*.b.#", "a.b", True),
    ("*.b.#", "b", False),
    ("#.#", "a", True),
    ("acme.order.*", "acme.order.created", True),
    ("acme.order.*", "globex.order.created", False),
    ("acme.#", "acme.custom.x.y", True),
    ("a.*.#", "a", False),
    ("a.*.#", "a.b", True),
]


@pytest.mark.parametrize(("pattern", "key", "expected"), CASES)
def test_topic_matching(pattern, key, expected):
    assert topic_matches(pattern, key) is expected


@pytest.mark.services
async def test_matching_agrees_with_rabbitmq(amqp_url):
    from barista_core.broker.amqp import AmqpBroker

    patterns = sorted({p for p, _, _ in CASES})
    keys = sorted({k for _, k, _ in CASES} | {"x.y", "a.b.b", "c.c"})
    broker = await AmqpBroker.connect(amqp_url)
    try:
        await broker.declare_exchange("topic-agreement")
        for index, pattern in enumerate(patterns):
            await broker.declare_queue(QueueSpec(name=f"topic-agreement-{index}", durable=False))
            await broker.bind_queue(f"topic-agreement-{index}", "topic-agreement", pattern)
        await broker.publish("topic-agreement", [Message(k.encode(), routing_key=k) for k in keys])
        for index, pattern in enumerate(patterns):
            received: set[str] = set()
            queue = f"topic-agreement-{index}"
            expected = {k for k in keys if topic_matches(pattern, k)}
            async with broker.consume(queue) as deliveries:
                for _ in range(len(expected)):
                    delivery = await asyncio.wait_for(anext(aiter(deliveries)), 5)
                    received.add(delivery.message.body.decode())
                    await delivery.ack()
            assert await broker.queue_depth(queue) == 0, pattern
            assert received == expected, pattern
    finally:
        for index in range(len(patterns)):
            await broker.delete_queue(f"topic-agreement-{index}")
        await broker.delete_exchange("topic-agreement")
        await broker.close()


def test_pattern_cache_does_not_confuse_keys():
    for pattern, key in itertools.product(["a.#", "#.a"], ["a", "b.a", "a.b"]):
        assert topic_matches(pattern, key) == topic_matches(pattern, key)
