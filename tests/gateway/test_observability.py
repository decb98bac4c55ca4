"""Health, readiness, metrics by route and by refusal reason, access logs without secrets."""

from __future__ import annotations

import json

import pytest

from barista_core.plans import Plan

pytestmark = pytest.mark.services


async def test_health_and_readiness(harness):
    live = await harness.client.get("/healthz")
    assert (live.status_code, live.json()["status"]) == (200, "ok")
    ready = await harness.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok", "clickhouse": "ok"}


async def test_readiness_fails_when_a_backend_is_gone(make_gateway):
    async with make_gateway() as h:
        await h.gateway.postgres.close()  # the pool is gone: PostgreSQL is unusable for this replica
        ready = await h.client.get("/readyz")
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["postgres"] != "ok"
        assert checks["redis"] == "ok"
        assert (await h.client.get("/healthz")).status_code == 200  # alive, just not ready


async def test_metrics_by_route_status_and_reason(harness):
    free = await harness.tenant(Plan.FREE, limits={"apiRequestsPerMinute": 2})
    await harness.seed_profiles(free, [{"platform": "instagram", "handle": "natgeo"}])
    assert (await harness.client.get("/v1/profiles/instagram/natgeo", headers=free.headers)).status_code == 200
    assert (await harness.client.get("/v1/leaderboards/growth", headers=free.headers)).status_code == 403
    assert (await harness.client.get("/v1/tenants/me", headers=free.headers)).status_code == 429
    await harness.client.get("/v1/tenants/me", headers={"X-API-Key": "bk_0000000000000000_" + "A" * 43})
    await harness.client.get("/v1/tenants/me", headers={"Authorization": "Bearer nope"})
    await harness.client.get("/v1/tenants/me")
    text = (await harness.client.get("/metrics")).text
    for line in (
        'barista_gateway_requests_total{method="GET",route="/v1/profiles/{platform}/{handle}",status="200"} 1.0',
        'barista_gateway_rate_limited_total{limit="api_requests_per_minute"} 1.0',
        'barista_gateway_feature_denied_total{feature="leaderboards"} 1.0',
        'barista_gateway_auth_failures_total{reason="unknown_key"} 1.0',
        'barista_gateway_auth_failures_total{reason="malformed"} 1.0',
        'barista_gateway_auth_failures_total{reason="missing_credentials"} 1.0',
        'barista_gateway_request_duration_seconds_count{route="/v1/profiles/{platform}/{handle}"} 1.0',
    ):
        assert line in text, line
    assert "barista_gateway_cache_hit_ratio" in text


async def test_access_log_is_structured_and_free_of_secrets(harness):
    tenant = await harness.tenant()
    token = await harness.token(tenant)
    await harness.client.get("/v1/profiles?q=nat", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "r-1"})
    await harness.client.get("/v1/tenants/me", headers={"X-API-Key": tenant.key.token})
    await harness.client.get(f"/v1/tenants/me?api_key={tenant.key.token}&x=1", headers={"X-API-Key": tenant.key.token})
    await harness.client.get("/v1/tenants/me", headers={"X-API-Key": tenant.key.token[:-3] + "xyz"})
    lines = harness.log_lines()
    text = "\n".join(lines)
    assert tenant.key.secret not in text
    assert token not in text and token.split(".")[2] not in text
    entries = [json.loads(line) for line in lines]
    by_id = {e["request_id"]: e for e in entries}
    first = by_id["r-1"]
    assert (first["method"], first["path"], first["query"], first["status"]) == ("GET", "/v1/profiles", "q=nat", 200)
    assert (first["tenant"], first["auth"], first["route"], first["cache"]) == (
        tenant.name,
        "jwt",
        "/v1/profiles",
        "MISS",
    )
    assert first["ms"] >= 0
    assert any(e["query"] == "api_key=***&x=1" for e in entries)  # credential-looking parameters are masked
    refused = entries[-1]
    assert (refused["status"], refused["auth"], refused["tenant"]) == (401, "unknown_key", None)
