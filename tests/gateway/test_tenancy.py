"""Tenant isolation, property-based: whatever tenant A sends, it never sees nor changes tenant B's data.

Tenant B's rows all carry the marker ``bsecret``; A's requests are drawn from every route, with
B's handles, B's collection ids, B's categories, spoofed tenant headers and query parameters mixed
in. After every request A's answer must not contain the marker or any of B's ids; after every
example B's tables, B's view through its own API and B's usage must be exactly as before.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barista_core.plans import Plan

pytestmark = pytest.mark.services

MARKER = "bsecret"
A_HANDLES = ["natgeo", "nasa", "mkbhd", "shared_one"]
B_HANDLES = ["natgeo", "shared_one", f"{MARKER}_only", f"{MARKER}_star"]
PLATFORMS = ["instagram", "youtube"]
CATEGORIES = ["travel", "tech", "bonlycat"]


@dataclass
class World:
    harness: Any
    a: Any
    b: Any
    a_token: str
    b_collections: list[str]
    b_snapshot: dict[str, Any]


async def _b_snapshot(harness, b) -> dict[str, Any]:
    schema = await harness.schema(b)
    tables = {}
    async with harness.pool.connection() as conn:
        for table, order in (("profiles", "platform, handle"), ("collections", "id"),
                             ("collection_items", "collection_id, platform, handle"),
                             ("leaderboards", "platform, dimension, creator_id")):  # fmt: skip
            cur = await conn.execute(f"SELECT * FROM {schema}.{table} ORDER BY {order}")
            tables[table] = await cur.fetchall()
    redis = harness.gateway.redis
    prefix = harness.gateway.settings.redis_prefix
    tables["usage"] = sorted([k async for k in redis.scan_iter(match=f"{prefix}usage:{b.name}:*")])
    return tables


@pytest.fixture
async def world(harness) -> World:
    a, b = await harness.tenant(Plan.PAID), await harness.tenant(Plan.PAID)
    await harness.seed_profiles(a, [
        {"platform": p, "handle": h, "display_name": f"A {h}", "category": "travel", "followers": i * 10}
        for i, (p, h) in enumerate((p, h) for p in PLATFORMS for h in A_HANDLES)
    ])  # fmt: skip
    await harness.seed_profiles(b, [
        {"platform": p, "handle": h, "display_name": f"{MARKER} {h}", "bio": f"{MARKER} bio", "category": c,
         "followers": 1000 + i}
        for i, (p, h, c) in enumerate((p, h, c) for p in PLATFORMS for h in B_HANDLES for c in ["bonlycat"])
    ])  # fmt: skip
    await harness.seed_leaderboard(
        b,
        [
            {
                "platform": "instagram",
                "dimension": "growth",
                "creator_id": f"{MARKER}1",
                "handle": f"{MARKER}_star",
                "display_name": MARKER,
                "rank": 1,
                "score": 9.0,
            }
        ],
    )
    b_collections = []
    for name in (f"{MARKER} list", f"{MARKER} other"):
        created = await harness.client.post("/v1/collections", json={"name": name}, headers=b.headers)
        b_collections.append(created.json()["id"])
        await harness.client.post(
            f"/v1/collections/{created.json()['id']}/profiles",
            headers=b.headers,
            json={"platform": "instagram", "handle": f"{MARKER}_only", "note": MARKER},
        )
    # B's answers sit in the cache under the very paths A will ask for: a key without the tenant would leak them
    for path in (
        "/v1/profiles",
        "/v1/profiles?limit=3",
        "/v1/collections",
        "/v1/leaderboards/growth",
        "/v1/profiles/instagram/natgeo",
        "/v1/profiles/instagram/shared_one",
        f"/v1/collections/{b_collections[0]}",
    ):
        assert (await harness.client.get(path, headers=b.headers)).status_code == 200, path
    # B's own requests above count as B's usage; what matters is that A's requests add nothing
    await harness.gateway.usage.flush()
    return World(harness, a, b, await harness.token(a), b_collections, await _b_snapshot(harness, b))


# ---- what tenant A may send ----------------------------------------------------------------------------

handles = st.sampled_from(A_HANDLES + B_HANDLES + ["nobody", "x' OR '1'='1", "../../etc"])
platforms = st.sampled_from([*PLATFORMS, "tiktok", "evil"])
names = st.text(alphabet="abcdefgh xyz-", min_size=1, max_size=12)


@st.composite
def collection_refs(draw) -> str:
    kind = draw(st.sampled_from(["b", "random", "mine", "junk"]))
    if kind == "b":
        return "B"  # replaced by one of B's ids at run time
    if kind == "mine":
        return "MINE"
    if kind == "junk":
        return draw(st.sampled_from(["1 OR 1=1", "%00", "null"]))
    return str(uuid.uuid4())


search_params = st.fixed_dictionaries(
    {},
    optional={
        "platform": platforms,
        "category": st.sampled_from(CATEGORIES),
        "q": st.sampled_from([MARKER, "nat geo", "star", "'; DROP TABLE profiles; --", "%"]),
        "sort": st.sampled_from(["followers", "engagement_rate", "handle", "growth", "fake_follower_share"]),
        "order": st.sampled_from(["asc", "desc"]),
        "limit": st.integers(min_value=1, max_value=5),
        "min_followers": st.integers(min_value=0, max_value=2000),
        "cursor": st.sampled_from(["WyJmb2xsb3dlcnMiLDEwMDEsImluc3RhZ3JhbSIsImJzZWNyZXRfb25seSJd", "garbage"]),
        "tenant": st.just("B"),
    },
)

operations = st.one_of(
    st.tuples(st.just("search"), search_params),
    st.tuples(st.just("profile"), platforms, handles),
    st.tuples(st.just("timeseries"), platforms, handles),
    st.tuples(st.just("leaderboard"), st.sampled_from(["growth", "platform", "category", "country"]),
              st.sampled_from(["", "bonlycat", "travel"])),
    st.tuples(st.just("create"), names),
    st.tuples(st.just("get"), collection_refs()),
    st.tuples(st.just("rename"), collection_refs(), names),
    st.tuples(st.just("delete"), collection_refs()),
    st.tuples(st.just("add"), collection_refs(), platforms, handles),
    st.tuples(st.just("remove"), collection_refs(), platforms, handles),
    st.tuples(st.just("list")),
    st.tuples(st.just("me")),
    st.tuples(st.just("usage")),
)  # fmt: skip


async def _run(world: World, op: tuple, credential: str, spoof: bool, mine: list[str]):
    h, b = world.harness, world.b
    headers = {"X-API-Key": world.a.key.token} if credential == "key" else {"Authorization": f"Bearer {world.a_token}"}
    if spoof:
        headers.update({"X-Barista-Tenant": b.name, "X-Tenant": b.name, "X-Forwarded-User": b.name})
    client = h.client

    def ref(value: str) -> str:
        if value == "B":
            return world.b_collections[len(mine) % len(world.b_collections)]
        if value == "MINE":
            return mine[-1] if mine else str(uuid.uuid4())
        return value

    kind = op[0]
    if kind == "search":
        params = {k: (b.name if k == "tenant" else v) for k, v in op[1].items()}
        return await client.get("/v1/profiles", params=params, headers=headers)
    if kind == "profile":
        return await client.get(f"/v1/profiles/{op[1]}/{op[2]}", headers=headers)
    if kind == "timeseries":
        return await client.get(f"/v1/profiles/{op[1]}/{op[2]}/timeseries", headers=headers)
    if kind == "leaderboard":
        return await client.get(f"/v1/leaderboards/{op[1]}", params={"bucket": op[2]} if op[2] else {},
                                headers=headers)  # fmt: skip
    if kind == "create":
        response = await client.post("/v1/collections", json={"name": op[1]}, headers=headers)
        if response.status_code == 201:
            mine.append(response.json()["id"])
        return response
    if kind == "get":
        return await client.get(f"/v1/collections/{ref(op[1])}", headers=headers)
    if kind == "rename":
        return await client.patch(f"/v1/collections/{ref(op[1])}", json={"name": op[2]}, headers=headers)
    if kind == "delete":
        return await client.delete(f"/v1/collections/{ref(op[1])}", headers=headers)
    if kind == "add":
        return await client.post(f"/v1/collections/{ref(op[1])}/profiles", json={"platform": op[2], "handle": op[3]},
                                 headers=headers)  # fmt: skip
    if kind == "remove":
        return await client.delete(f"/v1/collections/{ref(op[1])}/profiles/{op[2]}/{op[3]}", headers=headers)
    if kind == "list":
        return await client.get("/v1/collections", headers=headers)
    if kind == "me":
        return await client.get("/v1/tenants/me", headers=headers)
    return await client.get("/v1/usage", headers=headers)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])  # fmt: skip
@given(steps=st.lists(st.tuples(operations, st.sampled_from(["key", "token"]), st.booleans()), min_size=1, max_size=6))
async def test_no_request_of_tenant_a_returns_or_changes_tenant_b_data(world: World, steps):
    mine: list[str] = []
    b_ids = [str(i) for i in world.b_collections]
    for op, credential, spoof in steps:
        response = await _run(world, op, credential, spoof, mine)
        assert response.status_code < 500, (op, response.text)
        text = response.text
        assert MARKER not in text, (op, text[:500])
        assert world.b.name not in text, (op, text[:500])
        assert not any(i in text for i in b_ids), (op, text[:500])
        if op[0] == "me":
            assert response.json()["name"] == world.a.name
    assert await _b_snapshot(world.harness, world.b) == world.b_snapshot
    # and B, through its own API, sees its collections as they were (no poisoned cache either)
    own = await world.harness.client.get("/v1/collections", headers=world.b.headers)
    assert sorted(c["id"] for c in own.json()["items"]) == sorted(b_ids)
    await world.harness.gateway.usage.flush()
    world.b_snapshot = await _b_snapshot(world.harness, world.b)  # B's own request above counts as B's usage
