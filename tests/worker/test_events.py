"""Snapshots as events: on the real RabbitMQ with ``<tenant>.<type>`` routing keys, valid by the catalogue,
ids stable within a run; rejected or unconfirmed snapshots fail their target."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from barista_core.backends import open_broker
from barista_core.broker import Broker, QueueSpec
from barista_core.events import EventIngestor, EventPublisher, EventValidator, event_from_json, message_events
from barista_core.naming import EVENTS_EXCHANGE
from barista_worker.emit import SnapshotEmitter, snapshot_id
from barista_worker.fetch import RetryPolicy
from barista_worker.model import Snapshot, TargetFailed
from tests.worker.conftest import Reply, Upstream, fixture, tenant_name

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def rabbit(amqp_url: str) -> AsyncIterator[Broker]:
    broker = await open_broker(amqp_url)
    yield broker
    await broker.close()


async def drain(
    broker: Broker, queue: str, *, expect: int, timeout: float = 10.0
) -> list[tuple[str, list[dict[str, Any]]]]:
    """(routing key, events) of every message in ``queue`` until ``expect`` events arrived."""
    messages: list[tuple[str, list[dict[str, Any]]]] = []
    async with broker.consume(queue) as deliveries:
        deadline = time.monotonic() + timeout
        while sum(len(events) for _, events in messages) < expect:
            delivery = await asyncio.wait_for(anext(deliveries), max(0.1, deadline - time.monotonic()))
            messages.append((delivery.message.routing_key, message_events(delivery.message)))
            await delivery.ack()
    return messages


async def test_snapshots_land_on_rabbitmq_with_routing_keys_and_pass_validation(
    make_worker, upstream: Upstream, rabbit: Broker
):
    upstream.route("/api/v1/users/web_profile_info/", Reply(json=fixture("instagram_web_profile_info.json")))
    upstream.route_fn(
        "/api/v1/feed/user/5723190044/",
        lambda hit: Reply(
            json=fixture("instagram_feed_2.json" if hit.query.get("max_id") else "instagram_feed_1.json")
        ),
    )
    tenant = tenant_name()
    await rabbit.declare_exchange(EVENTS_EXCHANGE)
    queues = {"profiles": f"{tenant}.profile.snapshot", "posts": f"{tenant}.post.snapshot", "all": f"{tenant}.#"}
    names = {}
    for label, binding in queues.items():
        names[label] = f"worker-test-{label}-{uuid.uuid4().hex[:8]}"
        await rabbit.declare_queue(QueueSpec(name=names[label], durable=False))
        await rabbit.bind_queue(names[label], EVENTS_EXCHANGE, binding)
    try:
        common = {"tenant": tenant, "targets": ["asha.wild"], "instagram_base_url": upstream.url, "broker": rabbit}
        profiles = await make_worker(source="instagram.profile", flow_name="ig-profiles", **common)
        posts = await make_worker(source="instagram.posts", flow_name="ig-posts", **common)
        results = await asyncio.gather(
            profiles.run_window(await profiles.coordinator.begin_interval(60)),
            posts.run_window(await posts.coordinator.begin_interval(60)),
        )
        assert [(r.succeeded, r.snapshots) for r in results] == [(1, 1), (1, 3)]

        profile_messages = await drain(rabbit, names["profiles"], expect=1)
        post_messages = await drain(rabbit, names["posts"], expect=3)
        everything = await drain(rabbit, names["all"], expect=4)
    finally:
        for name in names.values():
            await rabbit.delete_queue(name)

    assert {key for key, _ in profile_messages} == {f"{tenant}.profile.snapshot"}
    assert {key for key, _ in post_messages} == {f"{tenant}.post.snapshot"}
    events = [event for _, batch in everything for event in batch]
    assert sorted(e["type"] for e in events) == ["post.snapshot"] * 3 + ["profile.snapshot"]
    validator = EventValidator()
    now_ms = int(time.time() * 1000)
    for event in events:  # what a Sink receives is a valid catalogue event, as if it came through ingest
        again = validator.check(event_from_json(event), now_ms=now_ms, received_at=event["received_at"], seen=set())
        assert isinstance(again, bytes), again
        assert event["context"]["app_name"] == "barista-worker"
        assert event["context"]["extra"]["flow"] in ("ig-profiles", "ig-posts")
        assert event["properties"]["platform"] == "instagram" and event["properties"]["handle"] == "asha.wild"
    [profile] = [e for e in events if e["type"] == "profile.snapshot"]
    assert profile["properties"]["followers"] == 48213
    assert profile["id"] == snapshot_id(tenant, "ig-profiles", results[0].run_id,
                                        Snapshot("profile.snapshot", "asha.wild", {}))  # fmt: skip


def test_ids_are_stable_within_a_run_and_new_for_the_next():
    snapshot = Snapshot("profile.snapshot", "natgeo", {"platform": "instagram", "handle": "natgeo"})
    first = snapshot_id("acme", "flow", "run-1", snapshot)
    assert first == snapshot_id("acme", "flow", "run-1", snapshot)
    assert first != snapshot_id("acme", "flow", "run-2", snapshot)
    assert first != snapshot_id("other", "flow", "run-1", snapshot)
    assert uuid.UUID(first).version == 5


async def test_a_snapshot_the_catalogue_rejects_fails_its_target(make_worker, upstream: Upstream):
    upstream.route("/api/huge", Reply(json={"handle": "huge", "bio": "x" * 40_000}))
    worker = await make_worker(
        source="http.json", targets=["huge"],
        http_json={"urlTemplate": upstream.url + "/api/{target}", "fields": {"handle": "handle", "bio": "bio"}},
    )  # fmt: skip
    result = await worker.pool.run(["huge"], run_id="r1")
    assert result.failed == 1 and result.failures == {"rejected": 1}


async def test_snapshots_the_broker_does_not_confirm_fail_their_target(memory_broker: Broker):
    publisher = EventPublisher(memory_broker)
    await publisher.start()
    await memory_broker.close()  # every publish now fails: the events are UNAVAILABLE
    emitter = SnapshotEmitter(
        EventIngestor(publisher), tenant="acme", flow="f", source="http.json",
        retry=RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02),
    )  # fmt: skip
    with pytest.raises(TargetFailed) as caught:
        await emitter.emit([Snapshot("profile.snapshot", "a", {"platform": "web", "handle": "a"})], "r1")
    assert caught.value.reason == "publish_unavailable"
