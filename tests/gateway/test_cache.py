"""The two-layer cache: per-tenant keys, L2 shared by replicas, invalidation, single flight, Cache-Control."""

from __future__ import annotations

import asyncio
import time

import pytest

from barista_core.plans import Plan

pytestmark = pytest.mark.services


def _routes(upstream, **extra):
    return [{"prefix": "/cached", "upstream": upstream.url, "cache": True, "cache_ttl_seconds": 30, **extra}]


async def test_no_cross_tenant_hits_on_the_api(harness):
    a, b = await harness.tenant(), await harness.tenant()
    await harness.seed_profiles(a, [{"platform": "instagram", "handle": "natgeo", "display_name": "A's NatGeo"}])
    await harness.seed_profiles(b, [{"platform": "instagram", "handle": "natgeo", "display_name": "B's NatGeo"}])
    path = "/v1/profiles/instagram/natgeo"
    first = await harness.client.get(path, headers=a.headers)
    second = await harness.client.get(path, headers=a.headers)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT-L1")
    assert second.json()["display_name"] == "A's NatGeo"
    other = await harness.client.get(path, headers=b.headers)
    assert other.headers["x-cache"] == "MISS"
    assert other.json()["display_name"] == "B's NatGeo"
    assert (await harness.client.get(path, headers=b.headers)).json()["display_name"] == "B's NatGeo"


async def test_no_cross_tenant_hits_on_proxied_routes(make_gateway, upstream):
    async with make_gateway(routes=_routes(upstream)) as h:
        a, b = await h.tenant(), await h.tenant()
        first = (await h.client.get("/cached/json?x=1", headers=a.headers)).json()
        assert (await h.client.get("/cached/json?x=1", headers=a.headers)).json() == first
        other = (await h.client.get("/cached/json?x=1", headers=b.headers)).json()
        assert (first["tenant"], other["tenant"]) == (a.name, b.name)
        assert upstream.calls["/cached/json"] == 2


async def test_query_order_does_not_matter_but_values_do(harness):
    tenant = await harness.tenant()
    first = await harness.client.get("/v1/profiles?limit=5&sort=followers", headers=tenant.headers)
    swapped = await harness.client.get("/v1/profiles?sort=followers&limit=5", headers=tenant.headers)
    other = await harness.client.get("/v1/profiles?sort=followers&limit=6", headers=tenant.headers)
    assert (first.headers["x-cache"], swapped.headers["x-cache"], other.headers["x-cache"]) == (
        "MISS",
        "HIT-L1",
        "MISS",
    )


async def test_l2_is_shared_by_replicas(harness, make_gateway):
    tenant = await harness.tenant()
    await harness.seed_profiles(tenant, [{"platform": "youtube", "handle": "mkbhd", "followers": 10}])
    path = "/v1/profiles/youtube/mkbhd"
    assert (await harness.client.get(path, headers=tenant.headers)).headers["x-cache"] == "MISS"
    async with make_gateway() as replica:
        there = await replica.client.get(path, headers=tenant.headers)
        assert there.headers["x-cache"] == "HIT-L2"
        assert int(there.headers["age"]) >= 0
        assert (await replica.client.get(path, headers=tenant.headers)).headers["x-cache"] == "HIT-L1"


async def test_writes_invalidate_every_replica(harness, make_gateway):
    tenant = await harness.tenant()
    async with make_gateway() as replica:
        for h in (harness, replica):  # both have the (empty) list cached
            assert (await h.client.get("/v1/collections", headers=tenant.headers)).json()["items"] == []
            assert (await h.client.get("/v1/collections", headers=tenant.headers)).headers["x-cache"].startswith("HIT")
        created = await replica.client.post("/v1/collections", json={"name": "watch"}, headers=tenant.headers)
        assert created.status_code == 201
        # the writer reads its own write at once
        mine = await replica.client.get("/v1/collections", headers=tenant.headers)
        assert [c["name"] for c in mine.json()["items"]] == ["watch"]
        # the other replica drops its L1 entry when the bus message arrives
        took = await _until_fresh(harness, tenant, "/v1/collections", lambda body: len(body["items"]) == 1)
        assert took < 1.0


async def test_pipeline_writes_to_serving_tables_invalidate(harness, make_gateway):
    """A sync step replacing profile rows (plain SQL, no gateway involved) reaches every replica's cache."""
    tenant = await harness.tenant()
    await harness.seed_profiles(tenant, [{"platform": "instagram", "handle": "nasa", "followers": 1}])
    path = "/v1/profiles/instagram/nasa"
    async with make_gateway() as replica:
        for h in (harness, replica):
            await h.client.get(path, headers=tenant.headers)
            assert (await h.client.get(path, headers=tenant.headers)).headers["x-cache"].startswith("HIT")
        schema = await harness.schema(tenant)
        async with harness.pool.connection() as conn:
            await conn.execute(f"UPDATE {schema}.profiles SET followers = 99 WHERE handle = 'nasa'")
        for h in (harness, replica):
            took = await _until_fresh(h, tenant, path, lambda body: body["followers"] == 99)
            assert took < 1.0


async def test_single_flight_makes_one_upstream_call_for_a_burst(make_gateway, upstream):
    async with make_gateway(routes=_routes(upstream)) as h:
        tenant = await h.tenant()
        responses = await asyncio.gather(
            *(h.client.get("/cached/json?delay=0.3", headers=tenant.headers) for _ in range(25))
        )
        assert upstream.calls["/cached/json"] == 1
        assert len({r.text for r in responses}) == 1
        how = sorted(r.headers["x-cache"] for r in responses)
        assert how.count("MISS") == 1
        assert how.count("HIT-FLIGHT") == 24


async def test_cache_control_is_honoured(make_gateway, upstream):
    async with make_gateway(routes=_routes(upstream)) as h:
        tenant = await h.tenant()
        get = h.client.get

        async def calls_for(url: str, **headers: str) -> tuple[int, str | None]:
            response = await get(url, headers={**tenant.headers, **headers})
            return upstream.calls.get("/cached/json", 0), response.headers.get("x-cache")

        assert await calls_for("/cached/json?k=1") == (1, "MISS")
        assert await calls_for("/cached/json?k=1") == (1, "HIT-L1")
        # the client asks to revalidate: the upstream is asked and the entry refreshed
        assert await calls_for("/cached/json?k=1", **{"Cache-Control": "no-cache"}) == (2, "MISS")
        assert (await get("/cached/json?k=1", headers=tenant.headers)).json()["n"] == 2
        # no-store: neither looked up nor stored
        assert await calls_for("/cached/json?k=2", **{"Cache-Control": "no-store"}) == (3, None)
        assert await calls_for("/cached/json?k=2") == (4, "MISS")
        # the upstream says no-store: never cached
        assert await calls_for("/cached/json?cc=no-store") == (5, "MISS")
        assert await calls_for("/cached/json?cc=no-store") == (6, "MISS")
        # an answer that varies by another request header cannot be keyed by path and query alone
        assert await calls_for("/cached/json?vary=Accept-Language") == (7, "MISS")
        assert await calls_for("/cached/json?vary=Accept-Language") == (8, "MISS")
        assert await calls_for("/cached/json?vary=Accept-Encoding") == (9, "MISS")
        assert await calls_for("/cached/json?vary=Accept-Encoding") == (9, "HIT-L1")
        # max-age=1: cached for one second
        assert await calls_for("/cached/json?cc=max-age%3D1") == (10, "MISS")
        assert await calls_for("/cached/json?cc=max-age%3D1") == (10, "HIT-L1")
        await asyncio.sleep(1.1)
        assert await calls_for("/cached/json?cc=max-age%3D1") == (11, "MISS")


async def test_errors_are_not_cached(harness):
    tenant = await harness.tenant()
    for _ in range(2):
        response = await harness.client.get("/v1/profiles/instagram/nobody", headers=tenant.headers)
        assert (response.status_code, response.headers["x-cache"]) == (404, "MISS")


async def test_l1_is_bounded_by_bytes(make_gateway, upstream):
    async with make_gateway(routes=_routes(upstream), cache_l1_max_bytes=2048, cache_l2=False) as h:
        tenant = await h.tenant()
        for i in range(20):
            await h.client.get(f"/cached/json?page={i}", headers=tenant.headers)
            assert h.gateway.cache.l1_bytes <= 2048
        assert upstream.calls["/cached/json"] == 20
        assert (await h.client.get("/cached/json?page=19", headers=tenant.headers)).headers["x-cache"] == "HIT-L1"
        assert (await h.client.get("/cached/json?page=0", headers=tenant.headers)).headers["x-cache"] == "MISS"


async def test_hit_ratio_per_layer_in_metrics(harness, make_gateway):
    tenant = await harness.tenant(Plan.SAAS)
    for _ in range(4):
        await harness.client.get("/v1/collections", headers=tenant.headers)
    text = (await harness.client.get("/metrics")).text
    assert 'barista_gateway_cache_lookups_total{layer="l1",result="hit"} 3.0' in text
    assert 'barista_gateway_cache_lookups_total{layer="l1",result="miss"} 1.0' in text
    assert 'barista_gateway_cache_lookups_total{layer="l2",result="miss"} 1.0' in text
    assert 'barista_gateway_cache_hit_ratio{layer="l1"} 0.75' in text
    assert 'barista_gateway_cache_hit_ratio{layer="l2"} 0.0' in text


async def _until_fresh(h, tenant, path, fresh, within: float = 2.0) -> float:
    started = time.monotonic()
    while True:
        body = (await h.client.get(path, headers=tenant.headers)).json()
        if fresh(body):
            return time.monotonic() - started
        assert time.monotonic() - started < within, f"{path} still stale: {body}"
        await asyncio.sleep(0.005)
