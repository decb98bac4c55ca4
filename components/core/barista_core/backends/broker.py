"""Broker factory: RabbitMQ (``amqp://``, ``amqps://``) or the in-process broker (``memory://``)."""

from __future__ import annotations

from barista_core.broker.base import Broker
from barista_core.errors import BackendError
from barista_core.urls import scheme_of

_memory_brokers: dict[str, Broker] = {}


async def open_broker(url: str, *, timeout: float = 10.0) -> Broker:
    scheme = scheme_of(url)
    if scheme in ("amqp", "amqps"):
        from barista_core.broker.amqp import AmqpBroker

        return await AmqpBroker.connect(url, timeout=timeout)
    if scheme == "memory":
        # one in-process broker per URL, so every component of `barista up` shares it
        from barista_core.broker.memory import MemoryBroker

        broker = _memory_brokers.get(url)
        if broker is None or broker._closed:  # type: ignore[attr-defined]
            broker = _memory_brokers[url] = MemoryBroker(url)
        return broker
    raise BackendError(url, f"unknown broker URL scheme {scheme!r}: use amqp://, amqps:// or memory://")
