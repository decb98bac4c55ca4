"""The distributed rate limiter (GCRA in one Lua script) on the machine's Redis."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import pytest
import redis.asyncio as aioredis

from barista_core.ratelimit import LeasedRateLimiter, RateLimiter

pytestmark = pytest.mark.services


@pytest.fixture
async def redis_client(redis_url: str):
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def limiter(redis_client, redis_prefix: str) -> RateLimiter:
    return RateLimiter(redis_client, prefix=redis_prefix)


async def test_a_full_bucket_admits_exactly_the_rate_then_refuses(limiter: RateLimiter):
    decisions = [await limiter.acquire("t", rate=10, period=60) for _ in range(12)]
    assert [d.allowed for d in decisions] == [True] * 10 + [False] * 2
    assert [d.remaining for d in decisions[:10]] == list(range(9, -1, -1))
    refused = decisions[10]
    assert refused.remaining == 0
    assert refused.limit == 10
    # one token every 6 s: the next is due in (just under) 6 s, the bucket is full again in 60 s
    assert 5.5 < refused.retry_after <= 6.0
    assert 59.0 < refused.reset_after <= 60.0


async def test_tokens_come_back_at_the_emission_interval(limiter: RateLimiter):
    for _ in range(5):
        assert (await limiter.acquire("t", rate=5, period=1.0)).allowed
    refused = await limiter.acquire("t", rate=5, period=1.0)
    assert not refused.allowed
    await asyncio.sleep(refused.retry_after + 0.02)
    assert (await limiter.acquire("t", rate=5, period=1.0)).allowed
    assert not (await limiter.acquire("t", rate=5, period=1.0)).allowed


async def test_cost_is_all_or_nothing(limiter: RateLimiter):
    assert (await limiter.acquire("t", rate=10, period=60, cost=4)).remaining == 6
    refused = await limiter.acquire("t", rate=10, period=60, cost=7)
    assert not refused.allowed
    assert refused.remaining == 6  # nothing was taken
    assert (await limiter.acquire("t", rate=10, period=60, cost=6)).allowed
    with pytest.raises(ValueError, match="exceeds the bucket size"):
        await limiter.acquire("t", rate=10, period=60, cost=11)


async def test_keys_are_independent_and_live_under_the_prefix(limiter: RateLimiter, redis_client, redis_prefix):
    assert (await limiter.acquire("a", rate=1, period=60)).allowed
    assert not (await limiter.acquire("a", rate=1, period=60)).allowed
    assert (await limiter.acquire("b", rate=1, period=60)).allowed
    keys = sorted(k.decode() for k in await redis_client.keys(redis_prefix + "*"))
    assert keys == [redis_prefix + "a", redis_prefix + "b"]
    ttl_ms = await redis_client.pttl(redis_prefix + "a")
    assert 0 < ttl_ms <= 60_001  # the state disappears once the bucket is full again


async def test_lease_takes_what_is_there_and_refunds_give_back(limiter: RateLimiter):
    first = await limiter.lease("t", rate=10, period=60, tokens=4)
    assert (first.allowed, first.granted, first.remaining) == (True, 4, 6)
    second = await limiter.lease("t", rate=10, period=60, tokens=8)
    assert (second.allowed, second.granted, second.remaining) == (True, 6, 0)
    third = await limiter.lease("t", rate=10, period=60, tokens=8)
    assert (third.allowed, third.granted) == (False, 0)
    assert 5.5 < third.retry_after <= 6.0
    await limiter.refund("t", rate=10, period=60, tokens=3)
    again = await limiter.lease("t", rate=10, period=60, tokens=8, refund=2)
    assert (again.allowed, again.granted, again.remaining) == (True, 5, 0)


def test_headers_follow_the_ratelimit_draft():
    from barista_core.ratelimit import RateDecision

    refused = RateDecision(allowed=False, limit=60, remaining=0, retry_after=0.4, reset_after=59.2)
    headers = dict(refused.headers(60))
    assert headers == {
        b"ratelimit-limit": b"60",
        b"ratelimit-remaining": b"0",
        b"ratelimit-reset": b"60",
        b"ratelimit-policy": b"60;w=60",
        b"retry-after": b"1",
    }
    assert dict(RateDecision(True, 60, 5, 0.0, 3.0).headers(60)) == {
        b"ratelimit-limit": b"60",
        b"ratelimit-remaining": b"5",
        b"ratelimit-reset": b"3",
    }


_HAMMER = textwrap.dedent(
    """
    import asyncio, json, sys
    import redis.asyncio as aioredis
    from barista_core.ratelimit import RateLimiter

    async def main(url, prefix, attempts, concurrency):
        client = aioredis.from_url(url, max_connections=concurrency + 1)
        limiter = RateLimiter(client, prefix=prefix)
        await asyncio.gather(*(client.ping() for _ in range(concurrency)))  # open the connections
        await client.incr(prefix + "ready")
        await client.blpop([prefix + "go"], timeout=60)  # start together
        allowed = 0
        async def worker(n):
            nonlocal allowed
            for _ in range(n):
                if (await limiter.acquire("shared", rate=300, period=3600)).allowed:
                    allowed += 1
        await asyncio.gather(*(worker(attempts // concurrency) for _ in range(concurrency)))
        await client.aclose()
        print(json.dumps({"allowed": allowed}))

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    """
)


async def test_exact_under_concurrency_from_several_processes(redis_url: str, redis_prefix: str, redis_client):
    """Four processes with 20 concurrent callers, 800 attempts on a 300-token bucket: exactly 300 admitted."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _HAMMER, redis_url, redis_prefix, "200", "20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for _ in range(600):  # every process is connected and waiting (interpreter start-up takes a while)
        if int(await redis_client.get(redis_prefix + "ready") or 0) == len(processes):
            break
        await asyncio.sleep(0.05)
    await redis_client.rpush(redis_prefix + "go", *range(len(processes)))
    allowed = []
    for process in processes:
        out, err = await asyncio.to_thread(process.communicate, timeout=120)
        assert process.returncode == 0, err
        allowed.append(json.loads(out)["allowed"])
    assert sum(allowed) == 300
    assert all(a > 0 for a in allowed), allowed  # every process took part
    limiter = RateLimiter(redis_client, prefix=redis_prefix)
    assert not (await limiter.acquire("shared", rate=300, period=3600)).allowed


async def test_leases_never_overdraw_the_shared_bucket(limiter: RateLimiter):
    """Two replicas leasing blocks of the same bucket: together never more than the rate."""
    # one token per 36 s: nothing refills while the test runs, however slow the machine
    a = LeasedRateLimiter(limiter, lease_ttl=3600.0, max_block=16)
    b = LeasedRateLimiter(limiter, lease_ttl=3600.0, max_block=16)
    assert a.block_size(100, 3600.0) == 16

    async def hammer(replica: LeasedRateLimiter, n: int) -> int:
        results = await asyncio.gather(*(replica.acquire("t", rate=100, period=3600.0) for _ in range(n)))
        return sum(r.allowed for r in results)

    admitted_a, admitted_b = await asyncio.gather(hammer(a, 90), hammer(b, 90))
    assert admitted_a + admitted_b <= 100
    assert admitted_a + admitted_b >= 100 - 2 * 2 * 16  # at most two unused blocks per replica are withheld


async def test_unused_leased_tokens_go_back(limiter: RateLimiter):
    a = LeasedRateLimiter(limiter, lease_ttl=3600.0, max_block=16)
    b = LeasedRateLimiter(limiter, lease_ttl=3600.0, max_block=16)
    for replica, n in ((a, 30), (b, 41)):
        assert all([(await replica.acquire("t", rate=100, period=3600.0)).allowed for _ in range(n)])
    await a.release()
    await b.release()
    direct = await limiter.acquire("t", rate=100, period=3600.0)
    assert direct.allowed
    assert direct.remaining == 100 - 71 - 1  # exactly what was used is gone


async def test_low_rates_lease_one_token_at_a_time(limiter: RateLimiter):
    leased = LeasedRateLimiter(limiter)
    assert leased.block_size(60, 60.0) == 1  # FREE: 60 requests per minute
    # the same bucket size over an hour, so that no token refills while the test runs
    assert leased.block_size(60, 3600.0) == 1
    results = [await leased.acquire("free", rate=60, period=3600.0) for _ in range(61)]
    assert sum(r.allowed for r in results) == 60
    refused = results[-1]
    assert not refused.allowed
    assert 55 < refused.retry_after <= 60
    # the refusal is remembered locally: no Redis round trip until retry_after has passed
    assert not (await leased.acquire("free", rate=60, period=3600.0)).allowed


async def test_a_single_replica_gets_the_whole_rate_despite_prefetching(limiter: RateLimiter):
    leased = LeasedRateLimiter(limiter, lease_ttl=3600.0, max_block=16)
    assert leased.block_size(400, 3600.0) == 16  # blocks are topped up in the background when a quarter is left
    results = []
    for _ in range(30):
        results += await asyncio.gather(*(leased.acquire("t", rate=400, period=3600.0) for _ in range(15)))
        await asyncio.sleep(0)  # let background top-ups run
    assert sum(r.allowed for r in results) == 400
    assert not results[-1].allowed
    await leased.release()
    assert not (await limiter.acquire("t", rate=400, period=3600.0)).allowed  # nothing was held back
