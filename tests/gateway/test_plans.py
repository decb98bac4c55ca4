"""Plans at the front door: feature gates and per-plan rate limits, from the registry, changing live."""

from __future__ import annotations

import asyncio
import time

import pytest

from barista_core import registry
from barista_core.plans import Feature, Plan, effective_features, effective_limits, minimum_plan_for, plan_spec

pytestmark = pytest.mark.services

#: (path, the feature it needs) — the tenant API's gated routes.
GATED = [("/v1/profiles", Feature.DISCOVERY), ("/v1/collections", Feature.DISCOVERY),
         ("/v1/leaderboards/growth", Feature.LEADERBOARDS)]  # fmt: skip


@pytest.mark.parametrize("plan", list(Plan))
async def test_feature_gates_follow_the_plan(harness, plan: Plan):
    tenant = await harness.tenant(plan)
    for path, feature in GATED:
        response = await harness.client.get(path, headers=tenant.headers)
        if feature in plan_spec(plan).features:
            assert response.status_code == 200, (path, response.text)
        else:
            assert response.status_code == 403, path
            error = response.json()["error"]
            assert error["code"] == "feature_not_in_plan"
            assert error["feature"] == feature.value
            assert error["required_plan"] == minimum_plan_for(feature).value
            assert error["plan"] == plan.value
            assert error["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("plan", list(Plan))
async def test_rate_limit_headers_carry_the_plan_limit(harness, plan: Plan):
    tenant = await harness.tenant(plan)
    response = await harness.client.get("/v1/tenants/me", headers=tenant.headers)
    limit = plan_spec(plan).limits.api_requests_per_minute
    assert response.headers["ratelimit-limit"] == str(limit)
    assert 0 <= int(response.headers["ratelimit-remaining"]) < limit


async def test_free_plan_gets_exactly_sixty_requests_a_minute(harness):
    tenant = await harness.tenant(Plan.FREE)
    statuses = []
    for _ in range(61):
        response = await harness.client.get("/v1/tenants/me", headers=tenant.headers)
        statuses.append(response.status_code)
    assert statuses == [200] * 60 + [429]
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["limit"] == "api_requests_per_minute"
    assert 1 <= int(response.headers["retry-after"]) <= 2  # one token per second
    assert response.headers["ratelimit-remaining"] == "0"
    assert response.headers["ratelimit-policy"] == "60;w=60"
    # another tenant is not affected
    other = await harness.tenant(Plan.FREE)
    assert (await harness.client.get("/v1/tenants/me", headers=other.headers)).status_code == 200


async def test_limit_is_shared_by_replicas_and_credentials(harness, make_gateway):
    """Two replicas, API key on one and token on the other: together exactly the tenant's limit."""
    tenant = await harness.tenant(Plan.SAAS, limits={"apiRequestsPerMinute": 40})
    token = await harness.token(tenant)  # 1 request
    async with make_gateway() as replica:

        async def hammer(client, headers, n):
            results = await asyncio.gather(*(client.get("/v1/tenants/me", headers=headers) for _ in range(n)))
            return [r.status_code for r in results]

        first, second = await asyncio.gather(
            hammer(harness.client, tenant.headers, 30), hammer(replica.client, {"Authorization": f"Bearer {token}"}, 30)
        )
        # 40 per minute leases one token at a time (a block is a quarter of a second's worth, at least 1)
        assert (first + second).count(200) == 39
        assert (first + second).count(429) == 21


async def test_suspension_and_reactivation_take_effect_live(harness):
    tenant = await harness.tenant(Plan.SAAS)
    token = await harness.token(tenant)
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await harness.client.get("/v1/profiles", headers=bearer)).status_code == 200
    await registry.set_tenant_state(harness.pool, tenant.name, "suspended")
    response = await _until(harness, bearer, lambda r: r.status_code != 200)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "tenant_suspended")
    assert (await harness.client.post("/v1/auth/token", headers=tenant.headers)).status_code == 403
    await registry.set_tenant_state(harness.pool, tenant.name, "active")
    assert (await _until(harness, bearer, lambda r: r.status_code == 200)).status_code == 200


async def test_downgrade_closes_a_gate_even_for_cached_answers(harness):
    tenant = await harness.tenant(Plan.SAAS)
    await harness.seed_leaderboard(tenant, [{"platform": "instagram", "dimension": "growth", "creator_id": "c1",
                                             "handle": "a", "rank": 1, "score": 2.0}])  # fmt: skip
    first = await harness.client.get("/v1/leaderboards/growth", headers=tenant.headers)
    again = await harness.client.get("/v1/leaderboards/growth", headers=tenant.headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["x-cache"] == "HIT-L1"
    await registry.upsert_tenant(
        harness.pool,
        registry.TenantRecord(name=tenant.name, display_name=tenant.name, plan=Plan.FREE,
                              limits=effective_limits(Plan.FREE), features=effective_features(Plan.FREE)),
    )  # fmt: skip
    response = await _until(harness, tenant.headers, lambda r: r.status_code != 200, path="/v1/leaderboards/growth")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "feature_not_in_plan")


async def test_feature_switched_off_by_override(harness):
    tenant = await harness.tenant(Plan.PAID)
    await registry.upsert_tenant(
        harness.pool,
        registry.TenantRecord(name=tenant.name, display_name=tenant.name, plan=Plan.PAID,
                              limits=effective_limits(Plan.PAID),
                              features=effective_features(Plan.PAID, {"leaderboards": False})),
    )  # fmt: skip
    response = await _until(harness, tenant.headers, lambda r: r.status_code != 200, path="/v1/leaderboards/growth")
    assert response.status_code == 403
    assert response.json()["error"]["required_plan"] == "SAAS"


async def _until(harness, headers, done, *, path="/v1/tenants/me", within=2.0):
    deadline = time.monotonic() + within
    while True:
        response = await harness.client.get(path, headers=headers)
        if done(response) or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.01)
