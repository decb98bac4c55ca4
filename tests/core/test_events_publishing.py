"""The shared event path behind gRPC and the gateway's JSON bridge: the ingestor, the coalescing confirmed
publisher (on the in-process broker that `barista up` runs), and per-tenant events/s admission on Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barista_core.broker import Broker, BrokerUnavailable, QueueSpec
from barista_core.broker.memory import MemoryBroker
from barista_core.events import (
    BCC_HEADER,
    COUNT_HEADER,
    TENANT_HEADER,
    BatchLimitExceeded,
    EventAdmission,
    EventIngestor,
    EventLimits,
    EventPublisher,
    EventStatusCode,
    TenantNotActive,
    TenantOnly,
    events_from_json,
    format_ms,
    message_body,
    message_events,
)
from barista_core.events.publisher import _Round
from barista_core.naming import EVENTS_EXCHANGE
from barista_core.plans import Plan, effective_features, effective_limits
from barista_core.ratelimit import RateLimiter
from barista_core.registry import TenantRecord


def tenant(name: str = "acme", plan: Plan = Plan.PAID, state: str = "active", **limits: int) -> TenantOnly:
    return TenantOnly(TenantRecord(
        name=name, display_name=name, plan=plan, limits=effective_limits(plan, limits or None),
        features=effective_features(plan), state=state,  # type: ignore[arg-type]
    ))  # fmt: skip


def json_event(type: str = "page.viewed", **properties: object) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "type": type,
        "occurred_at": format_ms(int(time.time() * 1000)),
        "properties": properties or {"path": "/"},
    }


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    broker = MemoryBroker(f"memory://events-{uuid.uuid4().hex}")
    await broker.declare_exchange(EVENTS_EXCHANGE)
    yield broker
    await broker.close()


async def bind(broker: Broker, name: str, *patterns: str) -> str:
    await broker.declare_queue(QueueSpec(name=name))
    for pattern in patterns:
        await broker.bind_queue(name, EVENTS_EXCHANGE, pattern)
    return name


async def drain(broker: Broker, queue: str) -> list:
    out = []
    async with broker.consume(queue, prefetch=1000) as deliveries:
        while await broker.queue_depth(queue) or not out:
            delivery = await asyncio.wait_for(anext(aiter(deliveries)), 2)
            out.append(delivery.message)
            await delivery.ack()
            if await broker.queue_depth(queue) == 0:
                break
    return out


async def test_concurrent_requests_are_coalesced_into_few_messages_routed_by_every_type(broker: Broker) -> None:
    everything = await bind(broker, "all", "acme.#")
    orders = await bind(broker, "orders", "acme.order.*")
    other_tenant = await bind(broker, "globex", "globex.#")
    publisher = EventPublisher(broker)
    ingestor = EventIngestor(publisher)
    who = tenant()
    requests = [[json_event()] for _ in range(150)] + [
        [json_event("order.completed", order_id=f"o{i}", total=i, currency="INR")] for i in range(50)
    ]

    results = await asyncio.gather(*(ingestor.ingest(who, events_from_json(r), transport="http") for r in requests))

    assert all(r.accepted == 1 for r in results)
    messages = await drain(broker, everything)
    assert len(messages) <= 3, len(messages)  # 200 requests, a handful of publishes
    events = [e for m in messages for e in message_events(m)]
    assert all(m.content_encoding == "zstd" and m.content_type == "application/json" for m in messages)
    assert len(events) == 200 and {e["id"] for e in events} == {r[0]["id"] for r in requests}
    assert all(m.headers[TENANT_HEADER] == "acme" and m.headers[COUNT_HEADER] == len(message_events(m))
               for m in messages)  # fmt: skip
    assert all(BCC_HEADER not in m.headers for m in messages)  # removed on delivery, as RabbitMQ does
    order_messages = await drain(broker, orders)  # routed to the order sink through BCC
    assert any(e["type"] == "order.completed" for m in order_messages for e in message_events(m))
    assert await broker.queue_depth(other_tenant) == 0


async def test_large_rounds_are_split_by_message_size(broker: Broker) -> None:
    queue = await bind(broker, "q", "acme.#")
    publisher = EventPublisher(broker, max_message_bytes=4096)
    ingestor = EventIngestor(publisher)
    result = await ingestor.ingest(tenant(), events_from_json([json_event() for _ in range(200)]))
    assert result.accepted == 200
    messages = await drain(broker, queue)
    assert len(messages) > 5 and all(len(message_body(m)) <= 4096 for m in messages)
    assert sum(len(message_events(m)) for m in messages) == 200


def split_one_by_one(by_type: dict[str, list[bytes]], limit: int) -> list[tuple[list[str], list[bytes]]]:
    """The message splitting rule, event by event: a message takes events until the next would pass ``limit``
    (each counts its bytes plus one separator); a lone event bigger than that still goes, alone."""
    out: list[tuple[list[str], list[bytes]]] = []
    types: list[str] = []
    chunk: list[bytes] = []
    size = 0
    for event_type, events in by_type.items():
        for encoded in events:
            if chunk and size + len(encoded) + 1 > limit:
                out.append((types, chunk))
                types, chunk, size = [], [], 0
            if not types or types[-1] != event_type:
                types.append(event_type)
            chunk.append(encoded)
            size += len(encoded) + 1
    if chunk:
        out.append((types, chunk))
    return out


@settings(max_examples=300, deadline=None)
@given(
    by_type=st.dictionaries(
        st.sampled_from(["page.viewed", "order.completed", "custom.a", "custom.b"]),
        st.lists(st.binary(max_size=40).map(lambda b: orjson.dumps(b.hex())), max_size=8),
        max_size=4,
    ),
    limit=st.integers(1, 160),
)
def test_messages_split_as_event_by_event_would(by_type: dict[str, list[bytes]], limit: int) -> None:
    publisher = EventPublisher(MemoryBroker("memory://unused"), max_message_bytes=limit)
    round_ = _Round(tenants={"acme": {t: list(events) for t, events in by_type.items()}})
    messages = publisher._messages(round_)
    expected = split_one_by_one(by_type, limit)
    bodies = [orjson.loads(message_body(m)) for m in messages]
    assert bodies == [[orjson.loads(e) for e in chunk] for _, chunk in expected]
    assert [m.routing_key for m in messages] == [f"acme.{types[0]}" for types, _ in expected]
    bcc = [[f"acme.{t}" for t in types[1:]] for types, _ in expected]
    assert [m.headers.get(BCC_HEADER, []) for m in messages] == bcc
    assert [m.headers[COUNT_HEADER] for m in messages] == [len(chunk) for _, chunk in expected]


async def test_unconfirmed_publishes_answer_unavailable_for_every_valid_event(broker: Broker) -> None:
    ingestor = EventIngestor(EventPublisher(broker))
    await broker.close()  # nothing can be confirmed any more
    events = events_from_json([json_event(), {"id": "bad"}, json_event()])
    result = await ingestor.ingest(tenant(), events)
    assert [s.code for s in result.statuses] == [
        EventStatusCode.UNAVAILABLE, EventStatusCode.REJECTED, EventStatusCode.UNAVAILABLE]  # fmt: skip
    assert result.statuses[0].reason.startswith("unavailable:")
    assert (result.accepted, result.unavailable, result.retry_after_ms) == (0, 2, 1000)


async def test_publisher_refuses_after_close(broker: Broker) -> None:
    publisher = EventPublisher(broker)
    await publisher.close()
    with pytest.raises(BrokerUnavailable):
        await publisher.publish("acme", {"page.viewed": [b"{}"]})


async def test_batch_limits_and_suspended_tenants_refuse_the_whole_batch(broker: Broker) -> None:
    ingestor = EventIngestor(EventPublisher(broker), limits=EventLimits(max_batch_events=3, max_batch_bytes=2048))
    with pytest.raises(BatchLimitExceeded) as info:
        await ingestor.ingest(tenant(), events_from_json([json_event() for _ in range(4)]))
    assert (info.value.limit, info.value.code) == ("events", "too_many_events")
    assert "4 events" in str(info.value) and "limit is 3" in str(info.value)
    with pytest.raises(BatchLimitExceeded) as info:
        await ingestor.ingest(tenant(), events_from_json([json_event()]), size_bytes=4096)
    assert (info.value.limit, info.value.code) == ("bytes", "batch_too_large")
    with pytest.raises(TenantNotActive):
        await ingestor.ingest(tenant(state="suspended"), events_from_json([json_event()]))


async def test_json_results_mirror_the_proto_response(broker: Broker) -> None:
    ingestor = EventIngestor(EventPublisher(broker))
    result = await ingestor.ingest(tenant(), events_from_json([json_event(), {"id": "x", "type": "page.viewed"}]))
    body = result.to_json("b1")
    assert body["accepted"] == 1 and body["rejected"] == 1 and body["batchId"] == "b1"
    assert body["statuses"][0] == {"id": result.statuses[0].id, "code": "ACCEPTED"}
    assert body["statuses"][1]["code"] == "REJECTED" and body["statuses"][1]["field"] == "id"


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.uuids().map(str), json_values),
        "type": st.one_of(st.sampled_from(["page.viewed", "custom.x", "order.completed"]), json_values),
        "occurred_at": st.one_of(st.just(format_ms(int(time.time() * 1000))), json_values),
        "occurredAt": json_values,
        "properties": st.one_of(st.just({"path": "/"}), json_values),
        "context": st.one_of(st.just({"platform": "web"}), json_values),
        "user_id": json_values,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=st.lists(st.one_of(event_like, json_values), max_size=12))
async def test_any_json_batch_gets_one_status_per_event(items: list[object]) -> None:
    broker = MemoryBroker(f"memory://fuzz-{uuid.uuid4().hex}")
    await broker.declare_exchange(EVENTS_EXCHANGE)
    ingestor = EventIngestor(EventPublisher(broker))
    result = await ingestor.ingest(tenant(), events_from_json(items), transport="http")
    assert len(result.statuses) == len(items)
    assert result.accepted + result.rejected == len(items)
    assert all(s.code in (EventStatusCode.ACCEPTED, EventStatusCode.REJECTED) for s in result.statuses)
    await broker.close()


# ---- events/s admission on the machine's Redis --------------------------------------------------------------


@pytest.fixture
async def limiter(redis_url: str, redis_prefix: str) -> AsyncIterator[RateLimiter]:
    client = aioredis.from_url(redis_url)
    yield RateLimiter(client, prefix=redis_prefix)
    await client.aclose()


@pytest.mark.services
async def test_admission_grants_the_budget_partially_then_says_when_to_retry(limiter: RateLimiter) -> None:
    admission = EventAdmission(limiter)
    first = await admission.admit("acme", rate=50, wanted=80)
    assert first.granted == 50 and 0 < first.retry_after <= 1.0
    second = await admission.admit("acme", rate=50, wanted=5)
    assert second.granted == 0 and second.retry_after > 0
    await asyncio.sleep(0.25)  # GCRA refills continuously: about 12 tokens by now
    later = await admission.admit("acme", rate=50, wanted=30)
    assert 5 <= later.granted <= 16


@pytest.mark.services
async def test_replicas_never_admit_more_than_the_shared_budget(limiter: RateLimiter) -> None:
    replicas = [EventAdmission(limiter, lease_ttl=1.0) for _ in range(3)]
    started = time.monotonic()
    results = await asyncio.gather(*(
        replicas[i % 3].admit("acme", rate=200, wanted=1) for i in range(600)
    ))  # fmt: skip
    elapsed = time.monotonic() - started
    granted = sum(r.granted for r in results)
    # the full bucket (200) plus what GCRA refilled while the burst ran (1 token per 5 ms), never more
    assert granted <= 200 + int(200 * elapsed) + 1, (granted, elapsed)
    assert granted >= 200 - 3 * admission_block(replicas[0], 200)  # unused leased tokens are the only loss
    for replica in replicas:
        await replica.release()


def admission_block(admission: EventAdmission, rate: int) -> int:
    return admission.block_size(rate)


@pytest.mark.services
async def test_ingestor_answers_rate_limited_with_a_retry_hint(broker: Broker, limiter: RateLimiter) -> None:
    ingestor = EventIngestor(EventPublisher(broker), admission=EventAdmission(limiter))
    free = tenant("small", Plan.FREE)  # 50 events/s
    result = await ingestor.ingest(free, events_from_json([json_event() for _ in range(70)]))
    assert result.accepted == 50 and result.rate_limited == 20 and not result.fully_rate_limited
    assert result.statuses[60].code == EventStatusCode.RATE_LIMITED
    blocked = await ingestor.ingest(free, events_from_json([json_event() for _ in range(5)]))
    assert blocked.fully_rate_limited and blocked.retry_after_ms > 0
