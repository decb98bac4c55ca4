"""The broker transport interface shared by the AMQP and in-process implementations.

Small on purpose: what Barista's event path needs, nothing more. ``publish`` returns only once
the broker has confirmed every message (an acknowledged event is never lost); ``consume`` hands
out deliveries that must be acked or nacked explicitly.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from barista_core.errors import BaristaError

#: Header the dead-letter path attaches to say why a message was dead-lettered.
DEAD_LETTER_REASON_HEADER = "x-barista-dead-letter-reason"


class BrokerUnavailable(BaristaError):
    """The broker cannot be reached, or it did not confirm a publish."""


@dataclass(frozen=True, slots=True)
class Message:
    body: bytes
    routing_key: str = ""
    headers: Mapping[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    content_type: str = "application/octet-stream"
    #: how ``body`` is compressed ("" when it is not): AMQP's content-encoding property
    content_encoding: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSpec:
    """A durable queue, optionally dead-lettering into ``dead_letter_exchange``."""

    name: str
    durable: bool = True
    dead_letter_exchange: str | None = None
    dead_letter_routing_key: str | None = None
    max_length: int | None = None


class Delivery(abc.ABC):
    """One consumed message. Exactly one of ack / nack / dead_letter must be called."""

    message: Message
    redelivered: bool

    @abc.abstractmethod
    async def ack(self) -> None: ...

    @abc.abstractmethod
    async def nack(self, *, requeue: bool = True) -> None:
        """Return the message to the queue (``requeue``) or drop it to the queue's dead-letter exchange."""


class Broker(abc.ABC):
    """An async message broker with topic exchanges, durable queues and publisher confirms."""

    url: str

    @abc.abstractmethod
    async def declare_exchange(self, name: str, *, kind: str = "topic", durable: bool = True) -> None: ...

    @abc.abstractmethod
    async def declare_queue(self, spec: QueueSpec) -> None: ...

    @abc.abstractmethod
    async def bind_queue(self, queue: str, exchange: str, routing_key: str) -> None: ...

    @abc.abstractmethod
    async def unbind_queue(self, queue: str, exchange: str, routing_key: str) -> None: ...

    @abc.abstractmethod
    async def delete_queue(self, name: str) -> None: ...

    @abc.abstractmethod
    async def delete_exchange(self, name: str) -> None: ...

    @abc.abstractmethod
    async def queue_depth(self, name: str) -> int:
        """Messages ready for delivery in ``name`` (not counting unacked ones)."""

    @abc.abstractmethod
    async def publish(self, exchange: str, messages: Sequence[Message]) -> None:
        """Publish ``messages`` and return once the broker confirmed all of them.

        Raises :class:`BrokerUnavailable` if the broker is unreachable or any message is not confirmed.
        """

    @abc.abstractmethod
    def consume(self, queue: str, *, prefetch: int = 100) -> AbstractAsyncContextManager[AsyncIterator[Delivery]]:
        """Consume ``queue``; unacked deliveries return to the queue when the context exits.

        The iterator may be awaited with a timeout (``asyncio.wait_for(anext(it), t)``): a timeout
        loses nothing and leaves the iterator usable, so batchers can flush on a deadline.
        """

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Broker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
