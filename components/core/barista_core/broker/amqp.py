"""RabbitMQ through aio-pika: robust connection, publisher confirms, explicit acks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import aio_pika.abc
import aiormq.exceptions

from barista_core.broker.base import Broker, BrokerUnavailable, Delivery, Message, QueueSpec
from barista_core.errors import BackendError
from barista_core.urls import mask_url

_TRANSIENT = (
    ConnectionError,
    OSError,
    TimeoutError,
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
    aio_pika.exceptions.DeliveryError,
    aio_pika.exceptions.ChannelClosed,
    aio_pika.exceptions.ConnectionClosed,
    RuntimeError,  # aio-pika raises RuntimeError("Channel closed") while reconnecting
)


class _AmqpDelivery(Delivery):
    __slots__ = ("_raw", "message", "redelivered")

    def __init__(self, raw: aio_pika.abc.AbstractIncomingMessage) -> None:
        self._raw = raw
        self.redelivered = bool(raw.redelivered)
        self.message = Message(
            body=raw.body,
            routing_key=raw.routing_key or "",
            headers=dict(raw.headers or {}),
            message_id=raw.message_id,
            content_type=raw.content_type or "application/octet-stream",
            content_encoding=raw.content_encoding or "",
        )

    async def ack(self) -> None:
        await self._raw.ack()

    async def nack(self, *, requeue: bool = True) -> None:
        await self._raw.nack(requeue=requeue)


class AmqpBroker(Broker):
    def __init__(
        self,
        url: str,
        connection: aio_pika.abc.AbstractRobustConnection,
        channel: aio_pika.abc.AbstractChannel,
        publish_timeout: float,
    ) -> None:
        self.url = url
        self._connection = connection
        self._channel = channel
        self._exchanges: dict[str, aio_pika.abc.AbstractExchange] = {"": channel.default_exchange}
        self._publish_timeout = publish_timeout

    @classmethod
    async def connect(cls, url: str, *, timeout: float = 10.0, publish_timeout: float = 10.0) -> AmqpBroker:
        try:
            connection = await aio_pika.connect_robust(url, timeout=timeout)
            channel = await connection.channel(publisher_confirms=True)
        except (*_TRANSIENT, aiormq.exceptions.AMQPError) as exc:
            raise BackendError(url, f"cannot connect to RabbitMQ: {exc or type(exc).__name__}") from None
        return cls(url, connection, channel, publish_timeout)

    async def _exchange(self, name: str) -> aio_pika.abc.AbstractExchange:
        exchange = self._exchanges.get(name)
        if exchange is None:
            exchange = await self._channel.get_exchange(name, ensure=True)
            self._exchanges[name] = exchange
        return exchange

    async def declare_exchange(self, name: str, *, kind: str = "topic", durable: bool = True) -> None:
        self._exchanges[name] = await self._channel.declare_exchange(name, aio_pika.ExchangeType(kind), durable=durable)

    async def declare_queue(self, spec: QueueSpec) -> None:
        arguments: dict[str, Any] = {}
        if spec.dead_letter_exchange is not None:
            arguments["x-dead-letter-exchange"] = spec.dead_letter_exchange
        if spec.dead_letter_routing_key is not None:
            arguments["x-dead-letter-routing-key"] = spec.dead_letter_routing_key
        if spec.max_length is not None:
            arguments["x-max-length"] = spec.max_length
        await self._channel.declare_queue(spec.name, durable=spec.durable, arguments=arguments or None)

    async def bind_queue(self, queue: str, exchange: str, routing_key: str) -> None:
        q = await self._channel.get_queue(queue, ensure=True)
        await q.bind(await self._exchange(exchange), routing_key=routing_key)

    async def unbind_queue(self, queue: str, exchange: str, routing_key: str) -> None:
        q = await self._channel.get_queue(queue, ensure=True)
        await q.unbind(await self._exchange(exchange), routing_key=routing_key)

    async def delete_queue(self, name: str) -> None:
        await self._channel.queue_delete(name)

    async def delete_exchange(self, name: str) -> None:
        self._exchanges.pop(name, None)
        await self._channel.exchange_delete(name)

    async def queue_depth(self, name: str) -> int:
        # declare_queue() on a robust channel answers from a cache; ask the broker itself
        underlay = await self._channel.get_underlay_channel()
        result = await underlay.queue_declare(name, passive=True)
        return int(result.message_count or 0)

    async def publish(self, exchange: str, messages: Sequence[Message]) -> None:
        if self._connection.is_closed:
            raise BrokerUnavailable(f"{mask_url(self.url)}: connection is closed")
        try:
            # A robust connection waits for reconnection instead of failing: bound the whole publish.
            async with asyncio.timeout(self._publish_timeout):
                target = await self._exchange(exchange)
                confirms = [
                    target.publish(
                        aio_pika.Message(
                            m.body,
                            headers=dict(m.headers) or None,
                            message_id=m.message_id,
                            content_type=m.content_type,
                            content_encoding=m.content_encoding or None,
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=m.routing_key,
                    )
                    for m in messages
                ]
                results = await asyncio.gather(*confirms, return_exceptions=True)
        except _TRANSIENT as exc:
            reason = "no confirm within the publish timeout" if isinstance(exc, TimeoutError) else str(exc)
            raise BrokerUnavailable(f"{mask_url(self.url)}: publish failed: {reason or type(exc).__name__}") from exc
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            first = failures[0]
            raise BrokerUnavailable(
                f"{mask_url(self.url)}: {len(failures)} of {len(messages)} messages not confirmed: "
                f"{first or type(first).__name__}"
            ) from first

    @asynccontextmanager
    async def consume(self, queue: str, *, prefetch: int = 100) -> AsyncIterator[AsyncIterator[Delivery]]:
        channel = await self._connection.channel()
        inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        try:
            await channel.set_qos(prefetch_count=prefetch)
            q = await channel.get_queue(queue, ensure=True)
            consumer_tag = await q.consume(inbox.put)
            try:
                yield _AmqpDeliveries(inbox)
            finally:
                if not channel.is_closed:
                    await q.cancel(consumer_tag)
        finally:
            # closing the channel returns every unacked message (handed out or still in the inbox)
            if not channel.is_closed:
                await channel.close()

    async def close(self) -> None:
        if not self._connection.is_closed:
            await self._connection.close()


class _AmqpDeliveries:
    """Deliveries from a consumer callback's inbox; a timed-out ``anext()`` loses nothing.

    (aio-pika's own queue iterator closes itself when ``anext()`` is cancelled.)
    """

    def __init__(self, inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage]) -> None:
        self._inbox = inbox

    def __aiter__(self) -> _AmqpDeliveries:
        return self

    async def __anext__(self) -> Delivery:
        return _AmqpDelivery(await self._inbox.get())
