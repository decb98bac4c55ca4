"""Webhook sinks against a real HTTP receiver on localhost: signed batches, retries, Retry-After, the DLQ."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from barista_core.broker import DEAD_LETTER_REASON_HEADER
from barista_core.events import message_events
from barista_core.naming import sink_dead_letter_queue
from tests.ingest.conftest import Tenant, World, event
from tests.ingest.httpreceiver import Received, Receiver

pytestmark = [pytest.mark.services, pytest.mark.asyncio(loop_scope="module")]
SECRET = "s3cret-hmac-key"


def signature_ok(request: Received) -> bool:
    """What a receiver does, written out independently of Barista's code."""
    timestamp = request.headers["x-barista-timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest("sha256=" + expected, request.headers["x-barista-signature"])


async def _webhook_sinker(world: World, tenant: Tenant, receiver: Receiver, **values: Any) -> None:
    settings = {
        "destination": "webhook",
        "clickhouse_url": None,
        "webhook_url": receiver.url,
        "webhook_secret": SECRET,
        "webhook_timeout_seconds": 0.5,
        "delivery_max_attempts": 3,
        **values,
    }
    await world.sinker(tenant, **settings)


async def _until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def _dead_letters(world: World, tenant: Tenant, count: int) -> list[Any]:
    out = []
    async with world.broker.consume(sink_dead_letter_queue(tenant.name, "main"), prefetch=100) as deliveries:
        async with asyncio.timeout(15):
            async for delivery in deliveries:
                out.append(delivery.message)
                await delivery.ack()
                if len(out) == count:
                    break
    return out


async def test_batches_arrive_signed_with_every_event(world: World, receiver: Receiver) -> None:
    tenant = await world.tenant()
    await _webhook_sinker(world, tenant, receiver, batch_max_events=100)
    sent = [event("order.completed", properties={"order_id": f"o{i}", "total": i, "currency": "INR"})
            for i in range(250)]  # fmt: skip
    response = await world.publish(tenant, sent)
    assert response.accepted == 250

    await _until(lambda: sum(json.loads(r.body)["events"].__len__() for r in receiver.requests) >= 250)
    assert all(signature_ok(r) for r in receiver.requests)
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert {b["tenant"] for b in bodies} == {tenant.name}
    assert all(len(b["events"]) <= 100 for b in bodies)
    got = {e["id"]: e for b in bodies for e in b["events"]}
    assert set(got) == {e.id for e in sent}
    assert got[sent[7].id]["properties"] == {"order_id": "o7", "total": 7, "currency": "INR"}
    assert all(
        r.headers["x-barista-event-count"] == str(len(b["events"]))
        for r, b in zip(receiver.requests, bodies, strict=True)
    )

    tampered = Received(0, dict(receiver.requests[0].headers), receiver.requests[0].body + b" ")
    assert not signature_ok(tampered)  # the check above can tell


async def test_server_errors_and_timeouts_are_retried_then_delivered(world: World, receiver: Receiver) -> None:
    tenant = await world.tenant()
    receiver.script = [(500, {}, 0.0), (503, {}, 0.0), (200, {}, 1.0)]  # the third answers after the timeout
    await _webhook_sinker(world, tenant, receiver, delivery_max_attempts=5)
    await world.publish(tenant, [event() for _ in range(5)])

    await _until(lambda: len(receiver.requests) >= 4)
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 4  # 500, 503, timeout, then 200 — and nothing after success
    batch_ids = {r.headers["x-barista-batch-id"] for r in receiver.requests}
    assert len(batch_ids) == 1  # the same batch each time, so receivers can deduplicate
    assert all(signature_ok(r) for r in receiver.requests)
    gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
    assert gaps[0] >= 0.01 and gaps[1] >= 0.02  # backoff grows (initial 20 ms, doubled, jittered)


async def test_retry_after_is_honoured_for_429(world: World, receiver: Receiver) -> None:
    tenant = await world.tenant()
    receiver.script = [(429, {"Retry-After": "1"}, 0.0)]
    await _webhook_sinker(world, tenant, receiver)
    await world.publish(tenant, [event()])

    await _until(lambda: len(receiver.requests) >= 2)
    assert receiver.requests[1].at - receiver.requests[0].at >= 0.95


async def test_persistent_500s_end_in_the_dead_letter_queue_with_the_reason(world: World, receiver: Receiver) -> None:
    tenant = await world.tenant()
    receiver.default = (500, {}, 0.0)
    await _webhook_sinker(world, tenant, receiver)
    sent = [event() for _ in range(3)]
    await world.publish(tenant, sent)

    dead = await _dead_letters(world, tenant, 1)
    assert len(receiver.requests) == 3  # delivery_max_attempts
    reason = dead[0].headers[DEAD_LETTER_REASON_HEADER]
    assert reason.startswith("attempts_exhausted: 3 attempts") and "HTTP 500" in reason
    # the original message, as it was published (compressed): it can be replayed as it is
    assert dead[0].content_encoding == "zstd"
    assert {e["id"] for e in message_events(dead[0])} == {e.id for e in sent}
    assert dead[0].headers["x-barista-original-routing-key"] == f"{tenant.name}.page.viewed"


async def test_client_errors_are_not_retried(world: World, receiver: Receiver) -> None:
    tenant = await world.tenant()
    receiver.default = (400, {}, 0.0)
    await _webhook_sinker(world, tenant, receiver)
    await world.publish(tenant, [event()])

    dead = await _dead_letters(world, tenant, 1)
    assert len(receiver.requests) == 1
    assert dead[0].headers[DEAD_LETTER_REASON_HEADER].startswith("webhook_rejected: HTTP 400")


async def test_413_splits_the_batch_until_the_receiver_takes_it(world: World, receiver: Receiver) -> None:
    tenant = await world.tenant()
    small_enough = 2  # events per request the receiver takes

    class Sized(Receiver):
        def answer(self) -> tuple[int, dict[str, str], float]:
            events = len(json.loads(self.requests[-1].body)["events"])
            return (413, {}, 0.0) if events > small_enough else (200, {}, 0.0)

    receiver.__class__ = Sized
    await _webhook_sinker(world, tenant, receiver, batch_max_delay_ms=500)
    sent = [event() for _ in range(6)]
    for e in sent:  # six requests, six messages, one batch
        await world.publish(tenant, [e])

    await _until(lambda: sum(len(json.loads(r.body)["events"]) for r in receiver.requests
                             if len(json.loads(r.body)["events"]) <= small_enough) >= 6)  # fmt: skip
    delivered = [e["id"] for r in receiver.requests for e in json.loads(r.body)["events"]
                 if len(json.loads(r.body)["events"]) <= small_enough]  # fmt: skip
    assert sorted(delivered) == sorted(e.id for e in sent)
    assert any(len(json.loads(r.body)["events"]) > small_enough for r in receiver.requests)  # it did split
