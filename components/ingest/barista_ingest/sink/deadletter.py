"""Moving messages to a Sink's dead-letter queue with the reason attached.

AMQP's own dead-lettering (``nack(requeue=False)``) cannot say why. So the sinker publishes a copy
to ``barista.dead-letter`` (routing key = the dead-letter queue) with ``x-barista-dead-letter-reason``
and friends, waits for the broker's confirm, and only then acks the original: a message is never
in neither queue.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from barista_core.broker import DEAD_LETTER_REASON_HEADER, Broker, BrokerUnavailable
from barista_core.events import format_ms
from barista_core.logging import get_logger
from barista_core.naming import DEAD_LETTER_EXCHANGE
from barista_ingest import metrics
from barista_ingest.sink.model import Pending

log = get_logger(__name__)

ORIGINAL_ROUTING_KEY_HEADER = "x-barista-original-routing-key"
ATTEMPTS_HEADER = "x-barista-attempts"
DEAD_LETTERED_AT_HEADER = "x-barista-dead-lettered-at"


class DeadLetterer:
    def __init__(self, broker: Broker, queue: str | None, *, sink: str, exchange: str = DEAD_LETTER_EXCHANGE) -> None:
        self.broker = broker
        self.queue = queue
        self.sink = sink
        self.exchange = exchange

    async def send(self, items: Sequence[Pending], reason: str, *, attempts: int = 0) -> bool:
        """Dead-letter ``items`` with ``reason``; True once they are safely moved (and acked).

        Without a dead-letter queue the messages are rejected without requeue (RabbitMQ then applies
        the queue's own dead-letter arguments, or drops them). On broker trouble the messages are
        returned to their queue instead (False), to be tried again.
        """
        code = reason.split(":", 1)[0]
        messages = list({id(item.message): item.message for item in items if not item.message.settled}.values())
        count = sum(item.count for item in items)
        if not messages:
            return True
        if self.queue is None:
            for consumed in messages:
                consumed.settled = True
                await _settle(consumed.delivery.nack(requeue=False))
            log.error("rejected messages to the queue's own dead-letter exchange", reason=reason, events=count)
            metrics.SINK_EVENTS_DEAD_LETTERED.labels(self.sink, code).inc(count)
            return True
        stamp = format_ms(int(time.time() * 1000))
        copies = []
        for consumed in messages:
            message = consumed.delivery.message
            headers = dict(message.headers)
            headers.update(
                {
                    DEAD_LETTER_REASON_HEADER: reason[:1000],
                    ORIGINAL_ROUTING_KEY_HEADER: message.routing_key,
                    ATTEMPTS_HEADER: attempts,
                    DEAD_LETTERED_AT_HEADER: stamp,
                }
            )
            copies.append(replace(message, routing_key=self.queue, headers=headers))
        try:
            await self.broker.publish(self.exchange, copies)
        except BrokerUnavailable as exc:
            log.warning("cannot dead-letter now; returning messages to the queue", error=str(exc), reason=reason)
            for consumed in messages:
                consumed.settled = True
                await _settle(consumed.delivery.nack(requeue=True))
            return False
        for consumed in messages:
            consumed.settled = True
            await _settle(consumed.delivery.ack())
        metrics.SINK_EVENTS_DEAD_LETTERED.labels(self.sink, code).inc(count)
        log.warning("dead-lettered", queue=self.queue, messages=len(messages), events=count, reason=reason[:300])
        return True


async def _settle(call: object) -> None:
    """Await an ack/nack; a lost channel means the broker already returned the message to its queue."""
    try:
        await call  # type: ignore[misc]
    except Exception as exc:  # aio-pika raises several types once the channel is gone
        log.warning("ack/nack failed; the broker will redeliver", error=f"{type(exc).__name__}: {exc}")
