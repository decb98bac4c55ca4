"""An in-process broker with RabbitMQ's routing semantics, for ``barista up`` (``memory://``).

Topic/direct/fanout exchanges, durable-in-name queues, prefetch, ack/nack, redelivery flags and
dead-letter exchanges behave as on RabbitMQ. Nothing survives the process: that is the one
difference, and why clusters use RabbitMQ.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

from barista_core.broker.base import Broker, BrokerUnavailable, Delivery, Message, QueueSpec
from barista_core.broker.topic import topic_matches


@dataclass(slots=True)
class _Entry:
    message: Message
    redelivered: bool = False


@dataclass(slots=True)
class _Queue:
    spec: QueueSpec
    ready: deque[_Entry] = field(default_factory=deque)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class _MemoryDelivery(Delivery):
    def __init__(self, broker: MemoryBroker, queue: _Queue, entry: _Entry, consumer: _Consumer, tag: int) -> None:
        self.tag = tag
        self.message = entry.message
        self.redelivered = entry.redelivered
        self._broker, self._queue, self._entry, self._consumer = broker, queue, entry, consumer
        self._settled = False

    async def ack(self) -> None:
        self._settle()

    async def nack(self, *, requeue: bool = True) -> None:
        self._settle()
        if requeue:
            self._entry.redelivered = True
            self._queue.ready.appendleft(self._entry)
            async with self._queue.changed:
                self._queue.changed.notify_all()
        else:
            await self._broker._dead_letter(self._queue, self._entry.message)

    def _settle(self) -> None:
        if self._settled:
            raise RuntimeError("delivery already acknowledged")
        self._settled = True
        self._consumer.unacked.pop(self.tag, None)
        self._consumer.slot_freed.set()


@dataclass(slots=True)
class _Consumer:
    unacked: dict[int, _Entry] = field(default_factory=dict)
    slot_freed: asyncio.Event = field(default_factory=asyncio.Event)


class _MemoryDeliveries:
    """A class, not a generator: a timed-out ``anext()`` must leave the iterator usable."""

    def __init__(self, broker: MemoryBroker, queue: _Queue, consumer: _Consumer, prefetch: int) -> None:
        self._broker, self._queue, self._consumer, self._prefetch = broker, queue, consumer, prefetch

    def __aiter__(self) -> _MemoryDeliveries:
        return self

    async def __anext__(self) -> Delivery:
        queue, consumer = self._queue, self._consumer
        while len(consumer.unacked) >= self._prefetch:
            consumer.slot_freed.clear()
            await consumer.slot_freed.wait()
        async with queue.changed:
            await queue.changed.wait_for(lambda: bool(queue.ready) or self._broker._closed)
            if self._broker._closed:
                raise StopAsyncIteration
            entry = queue.ready.popleft()
        delivery = _MemoryDelivery(self._broker, queue, entry, consumer, next(self._broker._tags))
        consumer.unacked[delivery.tag] = entry
        return delivery


class MemoryBroker(Broker):
    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._exchanges: dict[str, str] = {"": "direct"}
        self._bindings: dict[str, list[tuple[str, str]]] = {}
        self._queues: dict[str, _Queue] = {}
        self._closed = False
        self._tags = itertools.count(1)  # delivery tags, as AMQP numbers them per channel

    async def declare_exchange(self, name: str, *, kind: str = "topic", durable: bool = True) -> None:
        self._check_open()
        existing = self._exchanges.get(name)
        if existing is not None and existing != kind:
            raise ValueError(f"exchange {name!r} already declared as {existing}, not {kind}")
        self._exchanges[name] = kind
        self._bindings.setdefault(name, [])

    async def declare_queue(self, spec: QueueSpec) -> None:
        self._check_open()
        if spec.name not in self._queues:
            self._queues[spec.name] = _Queue(spec)

    async def bind_queue(self, queue: str, exchange: str, routing_key: str) -> None:
        self._require_queue(queue)
        self._require_exchange(exchange)
        if (queue, routing_key) not in self._bindings[exchange]:
            self._bindings[exchange].append((queue, routing_key))

    async def unbind_queue(self, queue: str, exchange: str, routing_key: str) -> None:
        bindings = self._bindings.get(exchange, [])
        if (queue, routing_key) in bindings:
            bindings.remove((queue, routing_key))

    async def delete_queue(self, name: str) -> None:
        self._queues.pop(name, None)
        for bindings in self._bindings.values():
            bindings[:] = [b for b in bindings if b[0] != name]

    async def delete_exchange(self, name: str) -> None:
        self._exchanges.pop(name, None)
        self._bindings.pop(name, None)

    async def queue_depth(self, name: str) -> int:
        return len(self._require_queue(name).ready)

    async def publish(self, exchange: str, messages: Sequence[Message]) -> None:
        self._check_open()
        self._require_exchange(exchange)
        touched: set[str] = set()
        for message in messages:
            for queue_name in self._route_message(exchange, message):
                self._queues[queue_name].ready.append(_Entry(_without_bcc(message)))
                touched.add(queue_name)
        for queue_name in touched:
            queue = self._queues[queue_name]
            async with queue.changed:
                queue.changed.notify_all()

    @asynccontextmanager
    async def consume(self, queue: str, *, prefetch: int = 100) -> AsyncIterator[AsyncIterator[Delivery]]:
        state = self._require_queue(queue)
        consumer = _Consumer()
        try:
            yield _MemoryDeliveries(self, state, consumer, max(1, prefetch))
        finally:
            # like a closed AMQP channel: whatever was not settled goes back, flagged redelivered
            for entry in reversed(list(consumer.unacked.values())):
                entry.redelivered = True
                state.ready.appendleft(entry)
            consumer.unacked.clear()
            async with state.changed:
                state.changed.notify_all()

    async def _dead_letter(self, queue: _Queue, message: Message) -> None:
        exchange = queue.spec.dead_letter_exchange
        if exchange is None or exchange not in self._exchanges:
            return  # RabbitMQ drops rejected messages without a dead-letter exchange
        routing_key = queue.spec.dead_letter_routing_key or message.routing_key
        headers = dict(message.headers)
        headers.setdefault("x-first-death-queue", queue.spec.name)
        headers.setdefault("x-first-death-reason", "rejected")
        await self.publish(exchange, [replace(message, routing_key=routing_key, headers=headers)])

    def _route_message(self, exchange: str, message: Message) -> list[str]:
        """RabbitMQ's sender-selected distribution: the ``CC`` and ``BCC`` headers (lists of routing keys)
        route the message as if published with each key too; every queue gets one copy."""
        extra = [*message.headers.get("CC", ()), *message.headers.get("BCC", ())] if message.headers else []
        if not extra:
            return self._route(exchange, message.routing_key)
        out: list[str] = []
        for key in (message.routing_key, *extra):
            out.extend(q for q in self._route(exchange, str(key)) if q not in out)
        return out

    def _route(self, exchange: str, routing_key: str) -> list[str]:
        if exchange == "":
            return [routing_key] if routing_key in self._queues else []
        kind = self._exchanges[exchange]
        out: list[str] = []
        for queue, pattern in self._bindings.get(exchange, []):
            if queue in out or queue not in self._queues:
                continue
            if (
                kind == "fanout"
                or (kind == "direct" and pattern == routing_key)
                or (kind == "topic" and topic_matches(pattern, routing_key))
            ):
                out.append(queue)
        return out

    def _require_queue(self, name: str) -> _Queue:
        self._check_open()
        try:
            return self._queues[name]
        except KeyError:
            raise LookupError(f"no queue {name!r}") from None

    def _require_exchange(self, name: str) -> None:
        if name not in self._exchanges:
            raise LookupError(f"no exchange {name!r}")

    def _check_open(self) -> None:
        if self._closed:
            raise BrokerUnavailable(f"{self.url}: broker is closed")

    async def close(self) -> None:
        self._closed = True
        for queue in self._queues.values():
            async with queue.changed:
                queue.changed.notify_all()


def _without_bcc(message: Message) -> Message:
    """As RabbitMQ does, BCC is removed before delivery (CC stays)."""
    if "BCC" not in message.headers:
        return message
    return replace(message, headers={k: v for k, v in message.headers.items() if k != "BCC"})
