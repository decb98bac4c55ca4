"""The pool against a real local HTTP server: bounded concurrency, retries and backoff, Retry-After,
4xx not retried, stopping, rate-limit scopes, claims shared by replicas, multi-step flows over HTTP."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
import redis.asyncio as aioredis

from barista_core.broker import Broker
from barista_core.events import EventIngestor, EventPublisher
from barista_worker.app import start_worker
from barista_worker.fetch import RetryPolicy
from barista_worker.worker import Worker
from tests.worker.conftest import FAST_RETRY, Reply, Upstream, fixture, settings, tenant_name

pytestmark = pytest.mark.timeout(60)


def http_json(upstream: Upstream) -> dict[str, Any]:
    return {"urlTemplate": upstream.url + "/api/{target}", "itemsPath": "$", "fields": {"handle": "handle"}}


def serve_handles(upstream: Upstream, delay: float = 0.0) -> None:
    upstream.route_fn("/api/", lambda hit: Reply(json={"handle": hit.path.rsplit("/", 1)[1]}, delay=delay))


async def json_worker(make_worker: Any, upstream: Upstream, targets: list[str], **values: Any) -> Worker:
    return await make_worker(source="http.json", targets=targets, http_json=http_json(upstream), **values)


async def test_concurrency_bound_holds_and_is_used(make_worker, upstream: Upstream):
    serve_handles(upstream, delay=0.1)
    targets = [f"c{i}" for i in range(20)]
    worker = await json_worker(make_worker, upstream, targets, concurrency=4)
    started = time.monotonic()
    result = await worker.pool.run(targets, run_id="r1")
    elapsed = time.monotonic() - started
    assert result.succeeded == 20 and result.snapshots == 20 and result.requests == 20
    assert upstream.max_in_flight == 4  # never more, and the pool really ran four at once
    assert elapsed >= 20 / 4 * 0.1 - 0.02


async def test_server_errors_are_retried_with_growing_jittered_backoff(make_worker, upstream: Upstream):
    upstream.route(
        "/api/flaky",
        Reply(500, {"error": "boom"}),
        Reply(502, {"error": "bad gateway"}),
        Reply(503, {}),
        Reply(json={"handle": "flaky"}),
    )
    worker = await json_worker(make_worker, upstream, ["flaky"])
    result = await worker.pool.run(["flaky"], run_id="r1")
    assert result.succeeded == 1 and result.failed == 0 and result.requests == 4
    times = [h.at for h in upstream.hits_for("/api/flaky")]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for failures, gap in enumerate(gaps, start=1):
        ceiling = min(FAST_RETRY.max_backoff, FAST_RETRY.initial_backoff * 2 ** (failures - 1))
        assert ceiling / 2 - 0.005 <= gap <= ceiling + 0.1, (failures, gap)  # equal jitter: [c/2, c]


async def test_backoff_is_jittered():
    import random

    policy = RetryPolicy(initial_backoff=1.0, max_backoff=8.0)
    rng = random.Random(7)
    samples = [policy.backoff(3, rng) for _ in range(200)]
    assert min(samples) >= 2.0 and max(samples) <= 4.0 and len({round(s, 3) for s in samples}) > 150
    assert all(policy.backoff(10, rng) <= 8.0 for _ in range(50))


async def test_retry_after_on_429_is_honoured(make_worker, upstream: Upstream):
    upstream.route(
        "/api/busy", Reply(429, {"message": "slow down"}, headers={"Retry-After": "1"}), Reply(json={"handle": "busy"})
    )
    worker = await json_worker(make_worker, upstream, ["busy"])
    result = await worker.pool.run(["busy"], run_id="r1")
    assert result.succeeded == 1
    first, second = (h.at for h in upstream.hits_for("/api/busy"))
    assert 1.0 <= second - first <= 1.5


async def test_a_429_pauses_every_replica_sharing_the_budget(make_worker, upstream: Upstream):
    """Replica A is told 429 Retry-After: 1; replica B (same tenant, same upstream) waits out the pause too."""
    upstream.route("/api/a", Reply(429, {}, headers={"Retry-After": "1"}), Reply(json={"handle": "a"}))
    serve_handles(upstream)
    tenant = tenant_name()
    a = await json_worker(make_worker, upstream, ["a"], tenant=tenant, flow_name="fa")
    b = await json_worker(make_worker, upstream, ["b"], tenant=tenant, flow_name="fb")
    run_a = asyncio.create_task(a.pool.run(["a"], run_id="r1"))
    while not upstream.hits_for("/api/a"):
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.1)  # A has recorded the pause in Redis
    result_b = await b.pool.run(["b"], run_id="r1")
    await run_a
    assert result_b.succeeded == 1
    told = upstream.hits_for("/api/a")[0].at
    assert upstream.hits_for("/api/b")[0].at - told >= 0.95


@pytest.mark.parametrize(
    ("status", "reason"), [(404, "not_found"), (403, "http_403"), (400, "http_400"), (401, "http_401")]
)
async def test_other_client_errors_are_not_retried(make_worker, upstream: Upstream, status: int, reason: str):
    upstream.route("/api/nope", Reply(status, {"error": {"code": status, "message": "no such thing"}}))
    worker = await json_worker(make_worker, upstream, ["nope"])
    result = await worker.pool.run(["nope"], run_id="r1")
    assert len(upstream.hits_for("/api/nope")) == 1
    assert result.failed == 1 and result.failures == {reason: 1}


async def test_persistent_server_errors_give_up_after_max_attempts(make_worker, upstream: Upstream):
    upstream.route("/api/down", Reply(500, {}))
    worker = await json_worker(make_worker, upstream, ["down"], retry=RetryPolicy(max_attempts=3, initial_backoff=0.02))
    result = await worker.pool.run(["down"], run_id="r1")
    assert len(upstream.hits_for("/api/down")) == 3
    assert result.failures == {"retries_exhausted": 1}


async def test_timeouts_are_retried(make_worker, upstream: Upstream):
    upstream.route("/api/slow", Reply(json={"handle": "slow"}, delay=1.0), Reply(json={"handle": "slow"}))
    worker = await json_worker(make_worker, upstream, ["slow"], request_timeout_seconds=0.2)
    result = await worker.pool.run(["slow"], run_id="r1")
    assert result.succeeded == 1 and len(upstream.hits_for("/api/slow")) == 2


async def test_a_long_retry_after_fails_the_target_instead_of_holding_a_slot(make_worker, upstream: Upstream):
    upstream.route("/api/later", Reply(429, {}, headers={"Retry-After": "3600"}))
    worker = await json_worker(make_worker, upstream, ["later"])
    result = await worker.pool.run(["later"], run_id="r1")
    assert result.failures == {"retry_after_too_long": 1} and len(upstream.hits_for("/api/later")) == 1


async def test_a_success_that_is_not_json_is_not_retried(make_worker, upstream: Upstream):
    upstream.route("/api/login", Reply(200, text="<html>please log in</html>"))
    worker = await json_worker(make_worker, upstream, ["login"])
    result = await worker.pool.run(["login"], run_id="r1")
    assert result.failures == {"parse_error": 1} and len(upstream.hits_for("/api/login")) == 1


async def test_stopping_ends_waiting_targets_as_skipped(make_worker, upstream: Upstream):
    upstream.route_fn("/api/", lambda hit: Reply(503, {}, headers={"Retry-After": "4"}))
    targets = [f"s{i}" for i in range(10)]
    worker = await json_worker(make_worker, upstream, targets, concurrency=2)
    run = asyncio.create_task(worker.pool.run(targets, run_id="r1"))
    while len(upstream.hits) < 2:
        await asyncio.sleep(0.005)
    worker.stop.set()
    started = time.monotonic()
    result = await run
    assert time.monotonic() - started < 0.5
    assert result.skipped == 10 and result.failed == 0 and result.succeeded == 0 and result.interrupted
    assert len(upstream.hits) == 2


@pytest.mark.parametrize(("scope", "expected"), [("tenant", 3), ("flow", 6), ("source", 3)])
async def test_rate_limit_scope_decides_who_shares_the_budget(
    make_worker, upstream: Upstream, scope: str, expected: int
):
    """Two flows of one tenant, 3 requests per minute each: a tenant (or same-upstream) budget is shared,
    flow budgets are not. Whatever is over budget waits (and is stopped here)."""
    serve_handles(upstream)
    tenant = tenant_name()
    limits = {"rate_limit_requests": 3, "rate_limit_period_seconds": 60.0, "rate_limit_scope": scope}
    one = await json_worker(make_worker, upstream, ["a1", "a2", "a3"], tenant=tenant, flow_name="one", **limits)
    two = await json_worker(make_worker, upstream, ["b1", "b2", "b3"], tenant=tenant, flow_name="two", **limits)
    runs = [asyncio.create_task(w.pool.run(w.settings.targets, run_id="r")) for w in (one, two)]
    await asyncio.sleep(0.6)
    one.stop.set()
    two.stop.set()
    results = await asyncio.gather(*runs)
    assert len(upstream.hits) == expected
    assert sum(r.succeeded for r in results) == expected and sum(r.failed for r in results) == 0


async def test_replicas_split_a_run_through_claims(make_worker, upstream: Upstream):
    serve_handles(upstream, delay=0.02)
    targets = [f"t{i}" for i in range(30)]
    tenant = tenant_name()
    replicas = [await json_worker(make_worker, upstream, targets, tenant=tenant, concurrency=2) for _ in range(2)]
    windows = [await r.coordinator.begin_interval(60) for r in replicas]
    assert windows[0].run_id == windows[1].run_id and windows[1].joined and not windows[0].joined
    results = await asyncio.gather(*(r.run_window(w) for r, w in zip(replicas, windows, strict=True)))
    assert sorted(h.path for h in upstream.hits) == sorted(f"/api/{t}" for t in targets)  # each exactly once
    assert all(r.succeeded > 0 for r in results) and sum(r.succeeded for r in results) == 30
    last = max(replicas, key=lambda r: int(r.last_totals["replicas"])).last_totals  # who finished second
    assert (last["succeeded"], last["failed"], last["replicas"]) == ("30", "0", "2")
    stored = await replicas[0].coordinator.redis.hgetall(replicas[0].coordinator.last_run_key)
    assert stored[b"run_id"].decode() == windows[0].run_id and stored[b"succeeded"] == b"30"
    # a replica restarting within the window joins the run and finds nothing left to do
    late = await json_worker(make_worker, upstream, targets, tenant=tenant)
    window = await late.coordinator.begin_interval(60)
    assert window.run_id == windows[0].run_id
    result = await late.run_window(window)
    assert result.skipped == 30 and len(upstream.hits) == 30


async def test_youtube_videos_over_http(make_worker, upstream: Upstream, tmp_path):
    (tmp_path / "api-key").write_text("AIzaTEST\n")
    upstream.route("/yt/channels", Reply(json=fixture("youtube_channels.json")))
    upstream.route_fn(
        "/yt/playlistItems",
        lambda hit: Reply(json=fixture("youtube_playlist_items_2.json" if hit.query.get("pageToken")
                                       else "youtube_playlist_items_1.json")),
    )  # fmt: skip
    upstream.route_fn(
        "/yt/videos",
        lambda hit: Reply(json=fixture("youtube_videos_1.json" if "vidAAAAAAA1" in hit.query["id"]
                                       else "youtube_videos_2.json")),
    )  # fmt: skip
    worker = await make_worker(source="youtube.videos", targets=["@kitchenlabindia"], credentials_dir=str(tmp_path),
                               youtube_base_url=upstream.url + "/yt")  # fmt: skip
    result = await worker.pool.run(["@kitchenlabindia"], run_id="r1")
    assert result.succeeded == 1 and result.snapshots == 3 and result.requests == 5
    assert [h.path for h in upstream.hits] == [
        "/yt/channels", "/yt/playlistItems", "/yt/videos", "/yt/playlistItems", "/yt/videos"
    ]  # fmt: skip
    assert all(h.headers["x-goog-api-key"] == "AIzaTEST" and "key" not in h.query for h in upstream.hits)


async def test_shopify_products_over_http(make_worker, upstream: Upstream):
    upstream.route_fn(
        "/stores/",
        lambda hit: Reply(json=fixture(f"shopify_products_{hit.query['page']}.json"))
        if hit.query["page"] in ("1", "2") else Reply(json={"products": []}),
    )  # fmt: skip
    worker = await make_worker(source="shopify.products", targets=["loom.example"],
                               shopify_url_template=upstream.url + "/stores/{target}/products.json")  # fmt: skip
    worker.flow.page_size = 2  # the fixture pages hold two products
    result = await worker.pool.run(["loom.example"], run_id="r1")
    assert result.succeeded == 1 and result.snapshots == 3
    assert [h.query["page"] for h in upstream.hits] == ["1", "2"]


async def test_without_the_limiters_redis_nothing_is_sent_and_the_run_aborts(
    upstream: Upstream, redis_prefix: str, memory_broker: Broker
):
    serve_handles(upstream)
    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    worker = Worker(
        settings("redis://127.0.0.1:1/0", redis_prefix, source="http.json", targets=["a", "b", "c"],
                 http_json=http_json(upstream), rate_limit_requests=10),
        redis=dead, ingestor=EventIngestor(EventPublisher(memory_broker)),
    )  # fmt: skip
    try:
        result = await worker.pool.run(["a", "b", "c"], run_id="r1")
    finally:
        await worker.close()
        await dead.aclose()
    assert upstream.hits == []
    assert result.skipped == 3 and result.succeeded == result.failed == 0
    assert result.interrupted and "rate limiter unavailable" in result.aborted


@pytest.mark.looptime
async def test_cron_runs_follow_one_another_without_skipping_a_fire_time(make_worker, upstream: Upstream):
    worker = await json_worker(make_worker, upstream, ["a"], interval_seconds=None, schedule="*/5 * * * *")
    first = await worker.next_window()  # the event loop's clock is fake (looptime): the waits take no time
    second = await worker.next_window()
    assert first.started_at % 300 == 0 and first.ends_at - first.started_at == 300
    assert (second.started_at, second.ends_at) == (first.ends_at, first.ends_at + 300)
    assert second.run_id != first.run_id and not second.joined


async def test_graceful_stop_finishes_targets_under_way_and_publishes_them(
    upstream: Upstream, redis_url: str, redis_prefix: str, redis_client: aioredis.Redis, memory_broker: Broker
):
    serve_handles(upstream, delay=0.3)
    targets = [f"g{i}" for i in range(12)]
    values = {"source": "http.json", "targets": targets, "http_json": http_json(upstream), "concurrency": 3}
    running = await start_worker(settings(redis_url, redis_prefix, **values), broker=memory_broker, redis=redis_client)
    while len(upstream.hits) < 3:
        await asyncio.sleep(0.01)
    published_before = running.publisher.messages_published
    await running.stop(grace=5.0)
    result = running.worker.last_result
    assert result is not None and running.task.done() and not running.task.cancelled()
    assert result.succeeded == 3 and result.skipped == 9 and result.failed == 0  # the three under way finished
    assert len(upstream.hits) == 3
    assert running.publisher.messages_published > published_before  # their snapshots were confirmed


async def test_the_last_run_record_holds_the_run_totals_whatever_order_replicas_finish_in(
    redis_client: aioredis.Redis, redis_prefix: str
):
    from barista_worker.model import RunResult
    from barista_worker.schedule import RunCoordinator, RunWindow

    coordinator = RunCoordinator(redis_client, prefix=redis_prefix, tenant=tenant_name(), flow="f")
    now = time.time()
    earlier = RunWindow("20261129T000000Z-aaaaaa", now - 60, now + 60)
    current = RunWindow("20261129T000100Z-bbbbbb", now, now + 60)
    shares = [RunResult(current.run_id, now, now + 1, succeeded=n, snapshots=n) for n in (10, 20, 5)]
    totals = await asyncio.gather(*(coordinator.finish(current, share) for share in shares))
    assert sorted(t["replicas"] for t in totals) == ["1", "2", "3"]
    stored = await redis_client.hgetall(coordinator.last_run_key)
    assert (stored[b"run_id"], stored[b"succeeded"], stored[b"replicas"]) == (current.run_id.encode(), b"35", b"3")
    # a replica of an earlier run finishing late leaves the later run's record alone
    await coordinator.finish(earlier, RunResult(earlier.run_id, now - 60, now, succeeded=1))
    stored = await redis_client.hgetall(coordinator.last_run_key)
    assert (stored[b"run_id"], stored[b"succeeded"]) == (current.run_id.encode(), b"35")
