"""The reverse proxy against a real local upstream, through the gateway served on a real socket."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest

from barista_core.plans import Plan

pytestmark = pytest.mark.services


def _routes(upstream, closed_port, **svc):
    return [
        {"prefix": "/svc", "upstream": upstream.url, "strip_prefix": True, "timeout_seconds": 0.5, **svc},
        {"prefix": "/keys", "upstream": upstream.url + "/echo", "strip_prefix": True, "forward_credentials": True},
        {"prefix": "/once", "upstream": upstream.url, "strip_prefix": True, "retries": 0},
        {"prefix": "/down", "upstream": f"http://127.0.0.1:{closed_port}", "strip_prefix": True},
        {"prefix": "/v1/score", "upstream": upstream.url + "/echo", "feature": "fakeFollowerScoring"},
    ]


@pytest.fixture
async def served(make_gateway, upstream, closed_port):
    async with make_gateway(routes=_routes(upstream, closed_port)) as h:
        url = await h.serve()
        tenant = await h.tenant(Plan.PAID)
        async with httpx.AsyncClient(base_url=url, headers=tenant.headers, timeout=10) as client:
            yield h, client, tenant, upstream


async def test_responses_stream_through(served):
    _, client, _, _ = served
    started = time.monotonic()
    arrivals = []
    async with client.stream("GET", "/svc/stream?chunks=4&delay=0.3") as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        async for chunk in response.aiter_raw():
            arrivals.append(time.monotonic() - started)
            assert chunk.startswith(b"chunk")
    assert len(arrivals) == 4  # each chunk came on its own, as the upstream sent it
    assert arrivals[0] < 0.25  # the first one long before the upstream finished
    assert arrivals[-1] >= 0.85


async def test_large_bodies_stream_both_ways(served):
    _, client, _, _upstream = served
    big = await client.get("/svc/big?size=3000000")
    assert big.status_code == 200
    assert len(big.content) == 3_000_000
    assert big.headers["content-length"] == "3000000"

    payload = bytes(range(256)) * 12_000  # ~3 MB, sent chunked

    async def body():
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]

    echoed = await client.post("/svc/echo", content=body())
    assert echoed.status_code == 200
    assert echoed.json()["length"] == len(payload)
    assert echoed.json()["sha256"] == hashlib.sha256(payload).hexdigest()


async def test_request_body_limit(make_gateway, upstream, closed_port):
    async with make_gateway(routes=_routes(upstream, closed_port), max_request_bytes=100_000) as h:
        url = await h.serve()
        tenant = await h.tenant()
        async with httpx.AsyncClient(base_url=url, headers=tenant.headers) as client:
            response = await client.post("/svc/echo", content=b"x" * 200_000)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request_too_large"
        assert "/echo" not in upstream.calls


async def test_slow_upstream_is_a_504(served):
    _, client, _, upstream = served
    started = time.monotonic()
    response = await client.get("/svc/json?delay=2")
    assert time.monotonic() - started < 1.5
    assert response.status_code == 504
    error = response.json()["error"]
    assert error["code"] == "upstream_timeout"
    assert error["request_id"] == response.headers["x-request-id"]
    assert upstream.calls["/json"] == 1  # timeouts are not retried


async def test_unreachable_upstream_is_a_502(served):
    _h, client, _, _ = served
    response = await client.get("/down/anything")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"
    text = (await client.get("/metrics")).text
    assert 'barista_gateway_upstream_errors_total{kind="unreachable",route="/down"} 1.0' in text


async def test_upstream_statuses_pass_through(served):
    _, client, _, _ = served
    for code in (404, 500, 503):
        response = await client.get(f"/svc/status/{code}")
        assert response.status_code == code
        assert response.json() == {"status": code}


async def test_only_idempotent_requests_are_retried(served):
    _, client, _, upstream = served
    ok = await client.get("/svc/flaky?fail=1")
    assert (ok.status_code, ok.json()) == (200, {"attempt": 2})
    upstream.calls.clear()
    refused = await client.post("/svc/flaky?fail=1", content=b"{}")
    assert refused.status_code == 502
    assert upstream.calls["/flaky"] == 1
    upstream.calls.clear()
    once = await client.get("/once/flaky?fail=1")  # this route allows no retries
    assert once.status_code == 502
    assert upstream.calls["/flaky"] == 1


async def test_a_body_broken_after_the_headers_cuts_the_connection(served):
    _, client, _, _ = served
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/svc/broken")


async def test_hop_by_hop_headers_and_identity(served):
    _, client, tenant, _ = served
    response = await client.get(
        "/svc/echo?x=1",
        headers={
            "Connection": "keep-alive, X-Client-Hop",
            "X-Client-Hop": "1",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Proxy-Authorization": "Basic abc",
            "X-Barista-Tenant": "someone-else",
            "X-Barista-Plan": "PAID",
            "X-Request-ID": "req-42",
            "X-Forwarded-For": "10.0.0.7",
            "X-Custom": "kept",
        },
    )
    assert response.status_code == 200
    seen = {k.lower(): v for k, v in response.json()["headers"].items()}
    assert response.json()["path"] == "/echo?x=1"
    for dropped in ("x-client-hop", "keep-alive", "te", "proxy-authorization", "x-api-key", "authorization"):
        assert dropped not in seen, dropped
    assert seen["x-barista-tenant"] == tenant.name  # the credential's tenant, not the spoofed one
    assert seen["x-barista-plan"] == "PAID"
    assert "fakeFollowerScoring" in seen["x-barista-features"]
    assert seen["x-request-id"] == "req-42"
    assert seen["x-forwarded-for"] == "10.0.0.7, 127.0.0.1"
    assert seen["x-custom"] == "kept"
    assert response.headers["x-request-id"] == "req-42"

    hop = await client.get("/svc/hop")
    assert hop.status_code == 200
    for dropped in ("x-private-hop", "keep-alive", "proxy-authenticate"):
        assert dropped not in hop.headers, dropped
    assert hop.headers["x-kept"] == "yes"
    assert hop.headers.get_list("x-request-id") == [hop.headers["x-request-id"]]
    assert hop.headers["x-request-id"] != "upstream-id"


async def test_credentials_are_forwarded_only_when_the_route_says_so(served):
    _, client, tenant, _ = served
    kept = (await client.get("/keys")).json()["headers"]
    assert {k.lower(): v for k, v in kept.items()}["x-api-key"] == tenant.key.token


async def test_feature_gates_apply_to_proxied_routes(served):
    h, client, _, upstream = served
    saas = await h.tenant(Plan.SAAS)
    refused = await client.post("/v1/score", headers=saas.headers, json={"handle": "x"})
    assert refused.status_code == 403
    assert refused.json()["error"]["required_plan"] == "PAID"
    assert upstream.calls.get("/echo") is None
    allowed = await client.post("/v1/score", json={"handle": "x"})
    assert allowed.status_code == 200
    assert allowed.json()["path"] == "/echo/v1/score"
