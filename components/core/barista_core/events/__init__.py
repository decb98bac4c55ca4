"""The event path shared by every way events come in: catalogue, validation, confirmed publishing.

Used by the ingest gRPC server, the gateway's JSON bridge (``POST /v1/events``) and trusted
producers (scrape workers). Transport-neutral contract::

    publisher = EventPublisher(broker)                 # coalescing, publisher-confirmed
    await publisher.start()                            # declares the barista.events exchange
    admission = EventAdmission(RateLimiter(redis))     # per-tenant events/s from the plan, leased from Redis
    ingestor = EventIngestor(publisher, limits=EventLimits.from_settings(settings), admission=admission)

    events = events_from_json(body["events"])          # JSON objects -> EventInput (never raises per event)
    result = await ingestor.ingest(principal, events, size_bytes=len(raw_body), transport="http")

``ingest(principal, events, *, size_bytes=None, transport="grpc") -> BatchResult``:

- ``principal`` is anything with ``.tenant`` (a ``registry.TenantRecord``): the gateway's ``Principal``
  from the credential verifier, or :class:`TenantOnly` for trusted in-cluster producers.
- Raises :class:`BatchLimitExceeded` before anything is published when the batch has more than
  ``max_batch_events`` (``.limit == "events"``; gRPC INVALID_ARGUMENT) or ``size_bytes`` is more than
  ``max_batch_bytes`` (``.limit == "bytes"``; gRPC RESOURCE_EXHAUSTED; HTTP 413 for both), and
  :class:`TenantNotActive` for a suspended tenant.
- Otherwise returns one :class:`EventStatus` per event, in request order: ``ACCEPTED`` (the broker
  confirmed it), ``REJECTED`` with ``reason`` (``"<code>: <text>"``, codes in
  :mod:`barista_core.events.validation`) and ``field``, ``RATE_LIMITED`` (over the tenant's events/s;
  ``retry_after_ms`` says when to retry) or ``UNAVAILABLE`` (broker down or unconfirmed; retry with the
  same ids — sinks deduplicate by id). Valid events are accepted even when others in the batch are not.
  ``BatchResult.fully_rate_limited`` tells transports to answer RESOURCE_EXHAUSTED / HTTP 429.
- Valid events are published to the topic exchange ``barista.events``, routed by ``<tenant>.<type>``
  of every event; one AMQP message carries many events of one tenant, possibly of several types (the
  other types' keys travel in the ``BCC`` header), so a consumer keeps the events its own patterns
  match. See :mod:`barista_core.events.publisher` and :mod:`barista_core.events.codec`.
- The queues and bindings of a Sink (declared alike by the operator and the sinker) come from
  :func:`sink_topology`.
"""

from barista_core.events.admission import Admission, EventAdmission, events_per_second_key
from barista_core.events.catalogue import CATALOGUE, CUSTOM_PREFIX, EventType, categories, is_custom, lookup
from barista_core.events.codec import (
    BCC_HEADER,
    COUNT_HEADER,
    SCHEMA,
    SCHEMA_HEADER,
    TENANT_HEADER,
    UndecodableMessage,
    decode_events,
    event_from_json,
    events_from_json,
    format_ms,
    message_body,
    message_events,
    parse_timestamp_ms,
)
from barista_core.events.ingestor import EventIngestor
from barista_core.events.model import (
    BatchLimitExceeded,
    BatchResult,
    EventInput,
    EventLimits,
    EventStatus,
    EventStatusCode,
    IngestPrincipal,
    TenantNotActive,
    TenantOnly,
    UniformStatuses,
)
from barista_core.events.publisher import EventPublisher
from barista_core.events.topology import SinkTopology, declare_sink_topology, sink_topology
from barista_core.events.validation import EventValidator, Rejection, normalise_id

__all__ = [
    "BCC_HEADER",
    "CATALOGUE",
    "COUNT_HEADER",
    "CUSTOM_PREFIX",
    "SCHEMA",
    "SCHEMA_HEADER",
    "TENANT_HEADER",
    "Admission",
    "BatchLimitExceeded",
    "BatchResult",
    "EventAdmission",
    "EventIngestor",
    "EventInput",
    "EventLimits",
    "EventPublisher",
    "EventStatus",
    "EventStatusCode",
    "EventType",
    "EventValidator",
    "IngestPrincipal",
    "Rejection",
    "SinkTopology",
    "TenantNotActive",
    "TenantOnly",
    "UndecodableMessage",
    "UniformStatuses",
    "categories",
    "declare_sink_topology",
    "decode_events",
    "event_from_json",
    "events_from_json",
    "events_per_second_key",
    "format_ms",
    "is_custom",
    "lookup",
    "message_body",
    "message_events",
    "normalise_id",
    "parse_timestamp_ms",
    "sink_topology",
]
