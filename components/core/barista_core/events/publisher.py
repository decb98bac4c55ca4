"""The confirmed publish path for events: group commit over a :class:`~barista_core.broker.Broker`.

Callers hand over encoded events grouped by type and wait until the broker confirmed them.
Concurrent callers are coalesced: everything handed over in the same event-loop turn (or while
``max_inflight`` publishes are already waiting for confirms) is merged per tenant into as few AMQP
messages as possible (up to ``max_message_bytes`` each), so a thousand one-event requests cost a
handful of messages, not a thousand. A failure or timeout fails every caller of that round with
:class:`BrokerUnavailable`; nobody is told "accepted" before the broker confirmed.

Routing: a message is published with routing key ``<tenant>.<type>`` of its first event type and the
keys of its other types in the ``BCC`` header (RabbitMQ's sender-selected distribution). The
exchange routes it as if it were published once per key, and every queue bound by any of those keys
gets exactly one copy — so a Sink bound to ``order.*`` receives every message that holds an order
event and keeps only the events its patterns match (see ``barista_ingest``'s sinker). Messages cost
the broker, the publisher and the consumer a fixed few hundred microseconds each; one message per
tenant and round instead of one per type is what lets a 500-event request cost one message.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from barista_core.broker import Broker, BrokerUnavailable, Message
from barista_core.events.codec import (
    BCC_HEADER,
    CONTENT_ENCODING,
    CONTENT_TYPE,
    COUNT_HEADER,
    SCHEMA,
    SCHEMA_HEADER,
    TENANT_HEADER,
    compress_body,
    join_events,
)
from barista_core.logging import get_logger
from barista_core.naming import EVENTS_EXCHANGE, event_routing_key

log = get_logger(__name__)


@dataclass(slots=True)
class _Round:
    #: tenant -> event type -> encoded events
    tenants: dict[str, dict[str, list[bytes]]] = field(default_factory=dict)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class EventPublisher:
    """Publishes encoded events to ``barista.events`` with publisher confirms, coalescing callers."""

    def __init__(
        self,
        broker: Broker,
        *,
        exchange: str = EVENTS_EXCHANGE,
        max_message_bytes: int = 1024 * 1024,
        max_inflight: int = 1,
        timeout: float = 10.0,
        linger: float = 0.0,
    ) -> None:
        self.broker = broker
        self.exchange = exchange
        self.max_message_bytes = max_message_bytes
        self.max_inflight = max_inflight
        self.timeout = timeout
        #: Seconds a round waits for more callers before it is published (0: the next event-loop turn); only
        #: while callers come concurrently (the previous round had more than one), so a lone caller never waits.
        self.linger = linger
        self._round = _Round()
        self._scheduled = False
        self._inflight: set[asyncio.Task[None]] = set()
        self._closed = False
        self._last_waiters = 0
        self.messages_published = 0

    async def start(self) -> None:
        """Declare the events exchange (idempotent)."""
        await self.broker.declare_exchange(self.exchange, kind="topic", durable=True)

    async def publish(self, tenant: str, groups: Mapping[str, Sequence[bytes]]) -> None:
        """Publish ``groups`` (event type → encoded events) for ``tenant``; return once confirmed.

        Raises :class:`BrokerUnavailable` when the broker is unreachable, refuses or does not confirm
        within ``timeout``.
        """
        if self._closed:
            raise BrokerUnavailable("the event publisher is shutting down")
        if not groups:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        current = self._round
        by_type = current.tenants.get(tenant)
        if by_type is None:
            by_type = current.tenants[tenant] = {}
        for event_type, events in groups.items():
            bucket = by_type.get(event_type)
            if bucket is None:
                by_type[event_type] = list(events)
            else:
                bucket.extend(events)
        current.waiters.append(waiter)
        self._kick(loop)
        await waiter

    def _kick(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._scheduled and len(self._inflight) < self.max_inflight and self._round.waiters:
            self._scheduled = True
            # linger only under concurrent load (the last round had company): a lone caller is not kept waiting
            if self.linger > 0 and self._last_waiters > 1:
                loop.call_later(self.linger, self._launch)
            else:
                loop.call_soon(self._launch)

    def _launch(self) -> None:
        self._scheduled = False
        current, self._round = self._round, _Round()
        self._last_waiters = len(current.waiters)
        if not current.waiters:
            return
        task = asyncio.get_running_loop().create_task(self._flush(current))
        self._inflight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if not self._closed or self._round.waiters:
            self._kick(asyncio.get_running_loop())

    def _messages(self, current: _Round) -> list[Message]:
        messages: list[Message] = []
        limit = self.max_message_bytes
        for tenant, by_type in current.tenants.items():
            chunk: list[bytes] = []
            types: list[str] = []
            size = 0
            for event_type, events in by_type.items():
                if not events:
                    continue
                whole = sum(map(len, events)) + len(events)
                if size + whole <= limit:  # the whole group fits in this message: no need to look event by event
                    types.append(event_type)
                    chunk.extend(events)
                    size += whole
                    continue
                for encoded in events:
                    if chunk and size + len(encoded) + 1 > limit:
                        messages.append(self._message(tenant, types, chunk))
                        chunk, types, size = [], [], 0
                    if not types or types[-1] != event_type:
                        types.append(event_type)
                    chunk.append(encoded)
                    size += len(encoded) + 1
            if chunk:
                messages.append(self._message(tenant, types, chunk))
        return messages

    @staticmethod
    def _message(tenant: str, types: list[str], chunk: list[bytes]) -> Message:
        headers: dict[str, object] = {TENANT_HEADER: tenant, SCHEMA_HEADER: SCHEMA, COUNT_HEADER: len(chunk)}
        if len(types) > 1:
            headers[BCC_HEADER] = [event_routing_key(tenant, t) for t in types[1:]]
        return Message(
            body=compress_body(join_events(chunk)),
            routing_key=event_routing_key(tenant, types[0]),
            headers=headers,
            message_id=uuid.uuid4().hex,
            content_type=CONTENT_TYPE,
            content_encoding=CONTENT_ENCODING,
        )

    async def _flush(self, current: _Round) -> None:
        error: BaseException | None = None
        try:
            messages = self._messages(current)
            async with asyncio.timeout(self.timeout):
                await self.broker.publish(self.exchange, messages)
            self.messages_published += len(messages)
        except TimeoutError:
            error = BrokerUnavailable(f"the broker did not confirm within {self.timeout:g} s")
        except BrokerUnavailable as exc:
            error = exc
        except Exception as exc:  # anything else from the transport: the events are not confirmed
            log.warning("publish failed", error=f"{type(exc).__name__}: {exc}")
            error = BrokerUnavailable(f"publish failed: {type(exc).__name__}: {exc}")
        for waiter in current.waiters:
            if waiter.done():  # the caller went away; its events may still have been published
                continue
            if error is None:
                waiter.set_result(None)
            else:  # one exception object per caller: each raises (and decorates) its own
                waiter.set_exception(BrokerUnavailable(str(error)))

    async def close(self) -> None:
        """Stop taking events and wait for publishes already under way."""
        self._closed = True
        while self._inflight or self._round.waiters or self._scheduled:
            if self._round.waiters and not self._scheduled and len(self._inflight) < self.max_inflight:
                self._kick(asyncio.get_running_loop())
            await asyncio.sleep(0.01)
