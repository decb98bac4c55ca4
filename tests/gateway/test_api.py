"""The tenant API: search (filters, sorts, cursor pages — checked against a model), profiles and time series
on chdb, collections, leaderboards, events, tenant and usage; validation and JSON errors."""

from __future__ import annotations

import asyncio
import datetime
import random
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barista_core.backends import open_broker
from barista_core.broker import QueueSpec
from barista_core.events import message_events
from barista_core.naming import EVENTS_EXCHANGE
from barista_core.plans import Plan

pytestmark = pytest.mark.services

WORDS = ["alpha", "beta", "gamma", "delta", "travel", "tech", "food"]


def _profiles(n: int = 36) -> list[dict]:
    rng = random.Random(7)
    rows = []
    for i in range(n):
        rows.append(
            {
                "platform": rng.choice(["instagram", "youtube", "tiktok"]),
                "handle": "".join(rng.choice("abcdefghij") for _ in range(5)) + str(i),
                "display_name": " ".join(rng.sample(WORDS, 2)),
                "category": rng.choice(["travel", "tech", None]),
                "country": rng.choice(["IN", "US", None]),
                "language": rng.choice(["en", "hi", None]),
                "followers": rng.choice([0, 100, 100, 5_000, 20_000, 1_000_000]),  # ties on purpose
                "engagement_rate": rng.choice([None, 0.01, 0.05, 0.05, 0.2]),
                "fake_follower_share": rng.choice([None, 0.0, 0.1, 0.5]),
                "followers_growth_30d": rng.choice([None, -0.1, 0.0, 0.3]),
                "verified": rng.random() < 0.3,
            }
        )
    return rows


_SORT = {
    "followers": lambda r: r["followers"],
    "engagement_rate": lambda r: -1.0 if r["engagement_rate"] is None else r["engagement_rate"],
    "fake_follower_share": lambda r: -1.0 if r["fake_follower_share"] is None else r["fake_follower_share"],
    "growth": lambda r: -1e300 if r["followers_growth_30d"] is None else r["followers_growth_30d"],
    "handle": lambda r: r["handle"].lower(),
}


def _expected(rows: list[dict], params: dict) -> list[tuple[str, str]]:
    def keep(r: dict) -> bool:
        if "platform" in params and r["platform"] not in params["platform"]:
            return False
        for field in ("category", "country", "language", "verified"):
            if field in params and r[field] != params[field]:
                return False
        if "min_followers" in params and r["followers"] < params["min_followers"]:
            return False
        if "max_followers" in params and r["followers"] > params["max_followers"]:
            return False
        if "min_engagement" in params and (
            r["engagement_rate"] is None or r["engagement_rate"] < params["min_engagement"]
        ):
            return False
        if "max_fake_followers" in params and (r["fake_follower_share"] is None
                                               or r["fake_follower_share"] > params["max_fake_followers"]):  # fmt: skip
            return False
        if "q" in params:
            words = f"{r['handle']} {r['display_name']}".split()
            return all(any(w.startswith(q) for w in words) for q in params["q"].split())
        return True

    sort = _SORT[params.get("sort", "followers")]
    chosen = sorted((r for r in rows if keep(r)), key=lambda r: (sort(r), r["platform"], r["handle"]),
                    reverse=params.get("order", "desc") == "desc")  # fmt: skip
    return [(r["platform"], r["handle"]) for r in chosen]


search = st.fixed_dictionaries(
    {},
    optional={
        "platform": st.lists(st.sampled_from(["instagram", "youtube", "tiktok"]), min_size=1, max_size=2, unique=True),
        "category": st.sampled_from(["travel", "tech"]),
        "country": st.sampled_from(["IN", "US"]),
        "language": st.sampled_from(["en", "hi"]),
        "min_followers": st.sampled_from([0, 100, 5_000]),
        "max_followers": st.sampled_from([100, 20_000, 10**9]),
        "min_engagement": st.sampled_from([0.0, 0.05]),
        "max_fake_followers": st.sampled_from([0.0, 0.1, 1.0]),
        "verified": st.booleans(),
        "q": st.sampled_from(["alp", "travel", "gam del", "be"]),
        "sort": st.sampled_from(list(_SORT)),
        "order": st.sampled_from(["asc", "desc"]),
        "limit": st.integers(min_value=1, max_value=7),
    },
)


@pytest.fixture
async def searchable(harness):
    tenant = await harness.tenant(Plan.SAAS)
    rows = _profiles()
    await harness.seed_profiles(tenant, rows)
    return harness, tenant, rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=search)
async def test_search_pages_through_exactly_the_matching_profiles_in_order(searchable, params):
    harness, tenant, rows = searchable
    if params.get("min_followers", 0) > params.get("max_followers", 10**9):
        response = await harness.client.get("/v1/profiles", params=params, headers=tenant.headers)
        assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_request")
        return
    seen: list[tuple[str, str]] = []
    query = {k: v for k, v in params.items()}
    cursor = None
    for _ in range(50):
        response = await harness.client.get("/v1/profiles", params={**query, **({"cursor": cursor} if cursor else {})},
                                            headers=tenant.headers)  # fmt: skip
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= params.get("limit", 25)
        seen += [(p["platform"], p["handle"]) for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == _expected(rows, params)


async def test_profile_and_not_found(harness):
    tenant = await harness.tenant()
    await harness.seed_profiles(tenant, [{"platform": "instagram", "handle": "natgeo", "display_name": "NatGeo",
                                          "followers": 5, "country": "US", "verified": True}])  # fmt: skip
    found = await harness.client.get("/v1/profiles/instagram/natgeo", headers=tenant.headers)
    assert found.status_code == 200
    body = found.json()
    assert (body["handle"], body["followers"], body["country"], body["verified"]) == ("natgeo", 5, "US", True)
    assert "search" not in body  # the internal tsvector never leaves
    assert found.headers["cache-control"] == "private, max-age=60"
    missing = await harness.client.get("/v1/profiles/youtube/natgeo", headers=tenant.headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "profile_not_found")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/profiles?limit=0", "limit"),
        ("/v1/profiles?limit=101", "limit"),
        ("/v1/profiles?platform=myspace", "platform"),
        ("/v1/profiles?country=USA", "country"),
        ("/v1/profiles?category=a%27%3B%20DROP%20TABLE%20x%3B--", "category"),
        ("/v1/profiles?min_followers=-1", "min_followers"),
        ("/v1/profiles?max_fake_followers=2", "max_fake_followers"),
        ("/v1/profiles?sort=password", "sort"),
        ("/v1/profiles/instagram/a%20b", "handle"),
        ("/v1/profiles/instagram/x%27%20OR%201%3D1", "handle"),
        ("/v1/leaderboards/revenue", "dimension"),
        ("/v1/collections/not-a-uuid", "collection_id"),
    ],
)
async def test_invalid_input_never_reaches_sql(harness, path, field):
    tenant = await harness.tenant()
    response = await harness.client.get(path, headers=tenant.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert any(d["field"].split(".")[0] == field for d in error["details"]), error["details"]
    assert error["request_id"] == response.headers["x-request-id"]


async def test_bad_cursors_and_text_queries_are_harmless(harness):
    tenant = await harness.tenant()
    await harness.seed_profiles(tenant, [{"platform": "instagram", "handle": "natgeo", "display_name": "Nat Geo"}])
    bad = await harness.client.get("/v1/profiles?cursor=bm90IGpzb24", headers=tenant.headers)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_cursor")
    for q in ("'; DROP TABLE profiles; --", "a & | ! ( ) :* <->", "%_\\", "natgeo\x00"):
        response = await harness.client.get("/v1/profiles", params={"q": q}, headers=tenant.headers)
        assert response.status_code in (200, 422), (q, response.text)
    assert (await harness.client.get("/v1/profiles?q=nat", headers=tenant.headers)).json()["items"][0]["handle"] == (
        "natgeo"
    )


async def test_timeseries_from_clickhouse(harness):
    tenant = await harness.tenant()
    await harness.seed_profiles(tenant, [{"platform": "instagram", "handle": "natgeo"}])
    day = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    await harness.seed_snapshots(tenant, [
        ("instagram", "natgeo", day + datetime.timedelta(hours=1), 100),
        ("instagram", "natgeo", day + datetime.timedelta(hours=20), 120),  # the last of the day counts
        ("instagram", "natgeo", day + datetime.timedelta(days=1, hours=3), 130),
        ("instagram", "other", day + datetime.timedelta(hours=2), 999),
    ])  # fmt: skip
    response = await harness.client.get(
        "/v1/profiles/instagram/natgeo/timeseries",
        params={"since": "2026-10-30T00:00:00Z", "until": "2026-11-05T00:00:00Z"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    points = response.json()["points"]
    assert [(p["t"][:10], p["followers"]) for p in points] == [("2026-11-01", 120), ("2026-11-02", 130)]
    hourly = await harness.client.get(
        "/v1/profiles/instagram/natgeo/timeseries",
        params={"since": "2026-11-01T00:00:00Z", "until": "2026-11-02T00:00:00Z", "interval": "hour"},
        headers=tenant.headers,
    )
    assert [p["followers"] for p in hourly.json()["points"]] == [100, 120]
    unknown = await harness.client.get("/v1/profiles/instagram/ghost/timeseries", headers=tenant.headers)
    assert unknown.status_code == 404
    backwards = await harness.client.get(
        "/v1/profiles/instagram/natgeo/timeseries",
        params={"since": "2026-11-05T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
        headers=tenant.headers,
    )
    assert backwards.status_code == 422


async def test_collections_crud(harness):
    tenant = await harness.tenant()
    await harness.seed_profiles(tenant, [{"platform": "youtube", "handle": "mkbhd", "display_name": "MKBHD"}])
    h = tenant.headers
    created = await harness.client.post("/v1/collections", json={"name": "Tech", "description": "gadgets"}, headers=h)
    assert created.status_code == 201
    cid = created.json()["id"]
    assert (await harness.client.post("/v1/collections", json={"name": "Tech"}, headers=h)).status_code == 409
    assert (await harness.client.post("/v1/collections", json={"name": ""}, headers=h)).status_code == 422
    assert (
        await harness.client.post("/v1/collections", json={"name": "x", "owner": "b"}, headers=h)
    ).status_code == 422

    for item in (
        {"platform": "youtube", "handle": "mkbhd", "note": "great"},
        {"platform": "instagram", "handle": "new"},
    ):
        assert (await harness.client.post(f"/v1/collections/{cid}/profiles", json=item, headers=h)).status_code == 204
    again = await harness.client.post(
        f"/v1/collections/{cid}/profiles",
        json={"platform": "youtube", "handle": "mkbhd", "note": "still great"},
        headers=h,
    )
    assert again.status_code == 204  # idempotent
    detail = (await harness.client.get(f"/v1/collections/{cid}", headers=h)).json()
    assert detail["size"] == 2
    items = {(i["platform"], i["handle"]): i for i in detail["items"]}
    assert items[("youtube", "mkbhd")]["note"] == "still great"
    assert items[("youtube", "mkbhd")]["profile"]["display_name"] == "MKBHD"
    assert items[("instagram", "new")]["profile"] is None

    renamed = await harness.client.patch(f"/v1/collections/{cid}", json={"name": "Gadgets"}, headers=h)
    assert (renamed.status_code, renamed.json()["name"], renamed.json()["description"]) == (200, "Gadgets", "gadgets")
    removed = await harness.client.delete(f"/v1/collections/{cid}/profiles/instagram/new", headers=h)
    assert removed.status_code == 204
    assert (await harness.client.delete(f"/v1/collections/{cid}/profiles/instagram/new", headers=h)).status_code == 404
    listing = (await harness.client.get("/v1/collections", headers=h)).json()["items"]
    assert [(c["name"], c["size"]) for c in listing] == [("Gadgets", 1)]
    assert (await harness.client.delete(f"/v1/collections/{cid}", headers=h)).status_code == 204
    gone = await harness.client.get(f"/v1/collections/{cid}", headers=h)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "collection_not_found")
    assert (await harness.client.get(f"/v1/collections/{uuid.uuid4()}", headers=h)).status_code == 404


async def test_leaderboards_page_by_rank(harness):
    tenant = await harness.tenant(Plan.SAAS)
    rows = [{"platform": "instagram", "dimension": "category", "bucket": "travel", "creator_id": f"c{i}",
             "handle": f"h{i}", "rank": i, "score": 100.0 - i} for i in range(1, 8)]  # fmt: skip
    rows.append({"platform": "instagram", "dimension": "category", "bucket": "tech", "creator_id": "t1",
                 "handle": "t1", "rank": 1, "score": 1.0})  # fmt: skip
    await harness.seed_leaderboard(tenant, rows)
    ranks, cursor = [], None
    while True:
        params = {"bucket": "travel", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await harness.client.get("/v1/leaderboards/category", params=params, headers=tenant.headers)).json()
        ranks += [e["rank"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert ranks == list(range(1, 8))
    missing = await harness.client.get("/v1/leaderboards/category", headers=tenant.headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "bucket_required")
    empty = await harness.client.get("/v1/leaderboards/country?bucket=in", headers=tenant.headers)
    assert (empty.status_code, empty.json()["bucket"], empty.json()["items"]) == (200, "IN", [])


async def test_me_and_usage(harness):
    tenant = await harness.tenant(Plan.SAAS)
    me = (await harness.client.get("/v1/tenants/me", headers=tenant.headers)).json()
    assert me["plan"] == "SAAS"
    assert me["limits"]["apiRequestsPerMinute"] == 6000
    assert "leaderboards" in me["features"] and "fakeFollowerScoring" not in me["features"]
    for _ in range(4):
        await harness.client.get("/v1/collections", headers=tenant.headers)
    usage = (await harness.client.get("/v1/usage", headers=tenant.headers)).json()
    assert usage["requests"] == {"today": 6, "month": 6, "limit": 6000, "limit_period": "minute"}
    assert usage["requests_this_minute"] == 6
    assert usage["events"]["limit"] == 2000
    assert usage["scrapes"]["limit_period"] == "minute"


async def test_events_bridge_publishes_through_the_shared_path(make_gateway):
    broker = await open_broker(f"memory://gateway-test-{uuid.uuid4().hex}")
    try:
        async with make_gateway(broker=broker) as h:
            tenant = await h.tenant(Plan.SAAS)
            await broker.declare_queue(QueueSpec(name="check"))
            await broker.bind_queue("check", EVENTS_EXCHANGE, f"{tenant.name}.#")
            now = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")
            ids = [str(uuid.uuid4()) for _ in range(3)]
            batch = {"events": [
                {"id": ids[0], "type": "app.opened", "occurred_at": now, "user_id": "u1"},
                {"id": ids[1], "type": "no.such.type", "occurred_at": now},
                {"id": ids[2], "type": "custom.clicked", "occurredAt": now, "properties": {"x": 1}},
            ]}  # fmt: skip
            response = await h.client.post("/v1/events", json=batch, headers=tenant.headers)
            assert response.status_code == 200, response.text
            body = response.json()
            assert [s["code"] for s in body["statuses"]] == ["ACCEPTED", "REJECTED", "ACCEPTED"]
            assert body["statuses"][1]["reason"].startswith("unknown_type")
            assert (body["accepted"], body["rejected"]) == (2, 1)
            received = []
            async with broker.consume("check") as deliveries:
                async for delivery in deliveries:
                    received += [e["id"] for e in message_events(delivery.message)]
                    await delivery.ack()
                    if len(received) >= 2:
                        break
            assert sorted(received) == sorted([ids[0], ids[2]])
            bad = await h.client.post("/v1/events", content=b"{not json", headers=tenant.headers)
            assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_request")
            await asyncio.sleep(0)
            usage = (await h.client.get("/v1/usage", headers=tenant.headers)).json()
            assert usage["events"]["today"] == 2
    finally:
        await broker.close()


async def test_openapi_lists_every_route(harness):
    spec = (await harness.client.get("/openapi.json")).json()
    assert {"/v1/auth/token", "/v1/profiles", "/v1/profiles/{platform}/{handle}",
            "/v1/profiles/{platform}/{handle}/timeseries", "/v1/collections", "/v1/collections/{collection_id}",
            "/v1/collections/{collection_id}/profiles", "/v1/leaderboards/{dimension}", "/v1/events",
            "/v1/tenants/me", "/v1/usage", "/.well-known/jwks.json"} <= set(spec["paths"])  # fmt: skip
    assert (await harness.client.get("/docs")).status_code == 200
