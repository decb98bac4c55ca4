"""Sinker behaviour on the real RabbitMQ and chdb: type patterns, poison messages, ClickHouse outages,
messages larger than a batch, and the flush on shutdown."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from prometheus_client import REGISTRY

from barista_core.broker import DEAD_LETTER_REASON_HEADER, Delivery, Message
from barista_core.events import COUNT_HEADER, TENANT_HEADER, format_ms
from barista_core.naming import EVENTS_EXCHANGE, sink_dead_letter_queue, sink_queue
from barista_ingest.sink.clickhouse import ClickHouseWriter, RawEvents
from barista_ingest.sink.model import Batch, Consumed, Pending
from tests.ingest.conftest import Tenant, World, event

pytestmark = [pytest.mark.services, pytest.mark.asyncio(loop_scope="module")]


def order(i: int):
    return event("order.completed", properties={"order_id": f"o{i}", "total": i, "currency": "INR"})


async def dead_letters(world: World, tenant: Tenant, sink: str, count: int) -> list[Message]:
    out: list[Message] = []
    async with world.broker.consume(sink_dead_letter_queue(tenant.name, sink), prefetch=100) as deliveries:
        async with asyncio.timeout(15):
            async for delivery in deliveries:
                out.append(delivery.message)
                await delivery.ack()
                if len(out) == count:
                    break
    return out


async def test_a_sink_keeps_only_the_event_types_its_patterns_match(world: World) -> None:
    tenant = await world.tenant()
    await world.sinker(tenant, "everything")
    await world.sinker(tenant, "orders", event_types=["order.*", "refund.*"], clickhouse_table="orders")
    mixed = [event() for _ in range(5)] + [order(i) for i in range(3)] + [event("app.opened", properties={})]
    assert (await world.publish(tenant, mixed)).accepted == 9  # one AMQP message, routed by all three types

    assert await world.wait_rows(tenant, 9) == 9
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = world.query(f"SELECT event_type, count() FROM `{tenant.database}`.orders GROUP BY event_type")
        if rows:
            break
        await asyncio.sleep(0.05)
    assert rows == [("order.completed", 3)]


async def test_poison_messages_go_to_the_dead_letter_queue_at_once(world: World) -> None:
    tenant = await world.tenant()
    await world.sinker(tenant)
    headers = {TENANT_HEADER: tenant.name}
    garbage = Message(b"\x00not json", routing_key=f"{tenant.name}.page.viewed", headers=headers)
    no_id = Message(orjson.dumps([{"type": "page.viewed", "occurred_at": "2026-01-01T00:00:00.000Z"}]),
                    routing_key=f"{tenant.name}.page.viewed", headers=headers)  # fmt: skip
    stranger = Message(b"[]", routing_key=f"{tenant.name}.page.viewed", headers={TENANT_HEADER: "someone-else"})
    key = f"{tenant.name}.page.viewed"
    not_zstd = Message(b"[{}]", routing_key=key, headers=headers, content_encoding="zstd")
    gzip = Message(b"\x1f\x8b", routing_key=key, headers=headers, content_encoding="gzip")
    # a faulty producer
    await world.broker.publish(EVENTS_EXCHANGE, [garbage, no_id, stranger, not_zstd, gzip])
    good = [event() for _ in range(4)]
    await world.publish(tenant, good)
    now = format_ms(int(time.time() * 1000))
    plain = [{"id": f"plain-{i}-{tenant.name}", "type": "page.viewed", "occurred_at": now, "received_at": now,
              "properties": {"path": "/"}} for i in range(2)]  # fmt: skip
    # another producer's JSON, not compressed (no content encoding), is taken as it is
    await world.broker.publish(EVENTS_EXCHANGE, [Message(orjson.dumps(plain), routing_key=key, headers=headers)])

    dead = await dead_letters(world, tenant, "main", 5)
    reasons = sorted(m.headers[DEAD_LETTER_REASON_HEADER] for m in dead)
    assert reasons[0].startswith("undecodable: body is not JSON")
    assert reasons[1].startswith("undecodable: body is not zstd")
    assert reasons[2].startswith("undecodable: content encoding 'gzip' is not 'zstd'")
    assert reasons[3].startswith("undecodable: malformed event: KeyError")
    assert reasons[4].startswith("undecodable: message belongs to tenant 'someone-else'")
    assert await world.wait_rows(tenant, 6) == 6  # the good ones were not held up


async def test_clickhouse_outage_is_retried_and_nothing_is_lost(world: World) -> None:
    tenant = await world.tenant()
    await world.sinker(tenant, delivery_max_attempts=100, delivery_max_backoff_ms=300)
    ch = world.clickhouse
    await asyncio.to_thread(ch.command, f"DETACH TABLE `{tenant.database}`.events")  # inserts fail meanwhile
    failures = REGISTRY.get_sample_value("barista_sink_write_failures_total", {"sink": "main", "kind": "retryable"})
    sent = [event() for _ in range(20)]
    await world.publish(tenant, sent)
    deadline = time.monotonic() + 10
    while (REGISTRY.get_sample_value("barista_sink_write_failures_total", {"sink": "main", "kind": "retryable"})
           or 0) <= (failures or 0) + 1:  # fmt: skip
        assert time.monotonic() < deadline, "the insert did not fail"
        await asyncio.sleep(0.05)
    await asyncio.to_thread(ch.command, f"ATTACH TABLE `{tenant.database}`.events")
    assert await world.wait_rows(tenant, 20) == 20
    stored = {r[0] for r in world.query(f"SELECT event_id FROM `{tenant.database}`.events")}
    assert stored == {e.id for e in sent}


async def test_a_message_larger_than_a_batch_is_split_and_acked_after_its_last_part(world: World) -> None:
    tenant = await world.tenant()
    running = await world.sinker(tenant, batch_max_events=100)
    batches_before = running.sinker.batches_written
    assert (await world.publish(tenant, [event() for _ in range(350)])).accepted == 350  # one message
    assert await world.wait_rows(tenant, 350) == 350
    deadline = time.monotonic() + 5
    while running.sinker.batches_written - batches_before < 4:  # counted after the acks
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert running.sinker.batches_written - batches_before == 4  # 100 + 100 + 100 + 50
    assert await world.broker.queue_depth(sink_queue(tenant.name, "main")) == 0


async def test_stopping_flushes_what_is_buffered(world: World) -> None:
    tenant = await world.tenant()
    running = await world.sinker(tenant, batch_max_delay_ms=60_000)  # would wait a minute
    await world.publish(tenant, [event() for _ in range(7)])
    deadline = time.monotonic() + 10
    while REGISTRY.get_sample_value("barista_sink_buffered_events", {"sink": "main"}) != 7:
        assert time.monotonic() < deadline, "the events were not buffered"
        await asyncio.sleep(0.02)
    assert await world.wait_rows(tenant, 1, timeout=0.3) == 0  # nothing written yet
    await running.stop(grace=10)
    assert await world.wait_rows(tenant, 7, timeout=1) == 7
    assert await world.broker.queue_depth(sink_queue(tenant.name, "main")) == 0


# ---- the JSON insert (whole messages parsed by ClickHouse) against the columnar insert ------------------


class _Delivered(Delivery):
    """A delivery as a consumer hands it over (the writer only reads its message and flag)."""

    def __init__(self, message: Message, redelivered: bool = False) -> None:
        self.message = message
        self.redelivered = redelivered

    async def ack(self) -> None:
        pass

    async def nack(self, *, requeue: bool = True) -> None:
        pass


NOW = int(time.time() * 1000)
TRICKY = [
    {"id": "6f1c1f4e-9a1b-4c53-8a43-1d1f3a2b4c5d", "type": "page.viewed", "occurred_at": format_ms(NOW - 86_400_123),
     "received_at": format_ms(NOW), "user_id": "ü\"s'er\\1 🚀", "session_id": "", "device_id": "d\n1",
     "properties": {"path": "/a'b\"c\\d", "n": 2**62, "f": 0.1, "deep": {"list": [1, None, True, "ß"]}, "e": {}},
     "context": {"platform": "ios", "extra": {"k": "v'"}}},
    {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "type": "custom.x", "occurred_at": format_ms(NOW - 999),
     "received_at": format_ms(NOW), "user_id": "u", "session_id": "s", "device_id": "",
     "properties": {}, "context": {}},
]  # fmt: skip


async def test_json_and_columnar_inserts_store_identical_rows(world: World) -> None:
    tenant = await world.tenant()
    world.databases.add(tenant.database)
    body = orjson.dumps(TRICKY)
    rows = {}
    for table, as_json in (("via_json", True), ("via_columns", False)):
        writer = ClickHouseWriter(world.clickhouse, database=tenant.database, table=table, tenant=tenant.name,
                                  json_inserts=as_json)  # fmt: skip
        await writer.prepare()
        delivered = _Delivered(Message(body, message_id=f"m-{table}"))
        payload = writer.encode_raw(body, 2) if as_json else writer.encode(orjson.loads(body), body)
        assert isinstance(payload, RawEvents) is as_json
        await writer.write(Batch([Pending(Consumed(delivered), payload, 2, len(body))]))
        rows[table] = world.query(
            f"SELECT * EXCEPT inserted_at FROM `{tenant.database}`.{table} ORDER BY event_id"
        )  # fmt: skip
    assert len(rows["via_json"]) == 2
    assert rows["via_json"] == rows["via_columns"]
    assert orjson.loads(rows["via_json"][1][8]) == TRICKY[0]["properties"]


async def test_a_malformed_message_of_our_own_format_is_dead_lettered_not_looped(world: World) -> None:
    tenant = await world.tenant()
    await world.sinker(tenant, batch_max_delay_ms=300)
    headers = {TENANT_HEADER: tenant.name, COUNT_HEADER: 1}
    key = f"{tenant.name}.page.viewed"
    no_id = Message(b'[{"type":"page.viewed","occurred_at":"2026-11-28T10:00:00.000Z","properties":{}}]',
                    routing_key=key, headers=headers, message_id="no-id")  # fmt: skip
    broken = Message(b'[{"id": "x", "type": }]', routing_key=key, headers=headers, message_id="broken")
    good = [event() for _ in range(4)]
    await world.publish(tenant, good[:2])
    await world.broker.publish(EVENTS_EXCHANGE, [no_id, broken])  # a faulty producer imitating ours
    await world.publish(tenant, good[2:])

    dead = await dead_letters(world, tenant, "main", 2)
    reasons = {m.message_id: m.headers[DEAD_LETTER_REASON_HEADER] for m in dead}
    assert reasons["no-id"].startswith("invalid_data:") and "id, type or occurred_at is missing" in reasons["no-id"]
    assert reasons["broken"].startswith("invalid_data:")
    assert await world.wait_rows(tenant, 4) == 4
    stored = {r[0] for r in world.query(f"SELECT event_id FROM `{tenant.database}`.events")}
    assert stored == {e.id for e in good}


async def test_an_event_sent_twice_into_one_batch_is_stored_once(world: World) -> None:
    tenant = await world.tenant()
    await world.sinker(tenant, batch_max_delay_ms=500)
    twice = event()
    await world.publish(tenant, [twice, event()])
    await world.publish(tenant, [twice])  # a client retry: same id, another message, same batch
    assert await world.wait_rows(tenant, 2, final=False) == 2
    await asyncio.sleep(0.6)
    assert world.query(f"SELECT count(), uniqExact(event_id) FROM `{tenant.database}`.events") == [(2, 2)]
