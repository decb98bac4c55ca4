"""The broker objects behind one Sink, declared identically by the operator and by the sinker itself.

RabbitMQ refuses to re-declare a queue with different arguments, so whoever declares first (the
operator in a cluster, the sinker under ``barista up``) must use exactly these:

- ``barista.events``: topic exchange, durable;
- ``barista.dead-letter``: direct exchange, durable;
- ``sink.<tenant>.<sink>``: durable queue, dead-lettering to ``barista.dead-letter`` with routing key
  ``sink.<tenant>.<sink>.dead``, bound to ``barista.events`` with ``<tenant>.<pattern>`` per event-type pattern;
- ``sink.<tenant>.<sink>.dead``: durable queue bound to ``barista.dead-letter`` with its own name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from barista_core.broker import Broker, QueueSpec
from barista_core.naming import (
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    sink_binding_key,
    sink_dead_letter_queue,
    sink_queue,
)


@dataclass(frozen=True, slots=True)
class SinkTopology:
    queue: QueueSpec
    dead_letter_queue: QueueSpec
    binding_keys: tuple[str, ...]


def sink_topology(
    tenant: str,
    sink: str,
    event_types: Sequence[str] = ("#",),
    *,
    queue: str | None = None,
    dead_letter_queue: str | None = None,
) -> SinkTopology:
    """The queues and bindings of Sink ``sink`` of ``tenant`` (names default to :mod:`barista_core.naming`)."""
    queue_name = queue or sink_queue(tenant, sink)
    dead_name = dead_letter_queue or sink_dead_letter_queue(tenant, sink)
    return SinkTopology(
        queue=QueueSpec(name=queue_name, dead_letter_exchange=DEAD_LETTER_EXCHANGE, dead_letter_routing_key=dead_name),
        dead_letter_queue=QueueSpec(name=dead_name),
        binding_keys=tuple(dict.fromkeys(sink_binding_key(tenant, p) for p in event_types or ("#",))),
    )


async def declare_sink_topology(broker: Broker, topology: SinkTopology) -> None:
    """Declare exchanges, both queues and the bindings (idempotent)."""
    await broker.declare_exchange(EVENTS_EXCHANGE, kind="topic", durable=True)
    await broker.declare_exchange(DEAD_LETTER_EXCHANGE, kind="direct", durable=True)
    await broker.declare_queue(topology.dead_letter_queue)
    await broker.bind_queue(topology.dead_letter_queue.name, DEAD_LETTER_EXCHANGE, topology.dead_letter_queue.name)
    await broker.declare_queue(topology.queue)
    for key in topology.binding_keys:
        await broker.bind_queue(topology.queue.name, EVENTS_EXCHANGE, key)
