"""Authentication at the front door: token exchange, JWKS, logout, and how refusals look over HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import jwt
import pytest

from barista_core import registry
from barista_core.auth.keyring import generate_signing_key
from barista_core.plans import Plan

pytestmark = pytest.mark.services


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def test_api_key_buys_a_short_lived_token_that_verifies_against_the_jwks(harness):
    tenant = await harness.tenant(Plan.SAAS)
    response = await harness.client.post("/v1/auth/token", headers=tenant.headers)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert 890 <= body["expires_in"] <= 900

    jwks = (await harness.client.get("/.well-known/jwks.json")).json()
    assert all(set(k) >= {"kty", "crv", "x", "y", "kid", "alg"} and "d" not in k for k in jwks["keys"])
    header = jwt.get_unverified_header(body["access_token"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(body["access_token"], jwt.PyJWK(key).key, algorithms=["ES256"], audience="barista-api",
                        issuer="barista")  # fmt: skip
    assert claims["sub"] == tenant.name
    assert claims["sid"] == body["session_id"]
    assert claims["akid"] == tenant.key.key_id

    me = await harness.client.get("/v1/tenants/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["name"] == tenant.name
    assert me.json()["plan"] == "SAAS"


async def test_tokens_are_not_exchanged_for_tokens(harness):
    tenant = await harness.tenant()
    token = await harness.token(tenant)
    response = await harness.client.post("/v1/auth/token", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_required"


async def test_logout_ends_the_session_on_every_replica(harness, make_gateway):
    tenant = await harness.tenant()
    token = await harness.token(tenant)
    bearer = {"Authorization": f"Bearer {token}"}
    async with make_gateway() as replica:
        assert (await replica.client.get("/v1/tenants/me", headers=bearer)).status_code == 200  # cached there
        assert (await harness.client.post("/v1/auth/logout", headers=bearer)).status_code == 204
        here = await harness.client.get("/v1/tenants/me", headers=bearer)
        assert (here.status_code, here.json()["error"]["code"]) == (401, "revoked")
        started = time.monotonic()
        while (await replica.client.get("/v1/tenants/me", headers=bearer)).status_code == 200:
            assert time.monotonic() - started < 0.5, "the other replica still accepts the token"
            await asyncio.sleep(0.002)
        there = await replica.client.get("/v1/tenants/me", headers=bearer)
        assert (there.status_code, there.json()["error"]["code"]) == (401, "revoked")
    # the API key itself still works: logout ends one session
    assert (await harness.client.get("/v1/tenants/me", headers=tenant.headers)).status_code == 200


async def test_api_keys_are_stored_hashed(harness):
    tenant = await harness.tenant()
    async with harness.pool.connection() as conn:
        cur = await conn.execute("SELECT secret_hash FROM barista.api_keys WHERE key_id = %s", (tenant.key.key_id,))
        (stored,) = await cur.fetchone()
        cur = await conn.execute("SELECT count(*) FROM barista.api_keys WHERE secret_hash::text LIKE %s",
                                 (f"%{tenant.key.secret}%",))  # fmt: skip
        (found,) = await cur.fetchone()
    assert bytes(stored) == tenant.key.secret_hash
    assert tenant.key.secret.encode() not in bytes(stored)
    assert found == 0


async def test_rotation_without_downtime(harness):
    tenant = await harness.tenant()
    old = await harness.token(tenant)
    await harness.gateway.issuer.rotate()
    new = await harness.token(tenant)
    assert jwt.get_unverified_header(old)["kid"] != jwt.get_unverified_header(new)["kid"]
    for token in (old, new):
        assert (await harness.client.get("/v1/tenants/me", headers={"Authorization": f"Bearer {token}"})).is_success
    kids = {k["kid"] for k in (await harness.gateway.issuer.jwks(max_age=0))["keys"]}
    assert {jwt.get_unverified_header(old)["kid"], jwt.get_unverified_header(new)["kid"]} <= kids


# ---- refusals over HTTP: status, JSON body with code and request id, WWW-Authenticate ----------------


async def _forged(harness, tenant, **claims):
    """A token signed by a key that is not published."""
    key = generate_signing_key()
    now = int(time.time())
    base = {"iss": "barista", "aud": "barista-api", "sub": tenant.name, "sid": "x", "iat": now, "nbf": now,
            "exp": now + 600}  # fmt: skip
    return jwt.encode({**base, **claims}, key.private_key, algorithm="ES256", headers={"kid": key.kid})


HTTP_ATTACKS = [
    ("no credentials", lambda h, t, tok: {}, 401, "missing_credentials"),
    ("basic auth", lambda h, t, tok: {"Authorization": "Basic dXNlcjpwYXNz"}, 401, "malformed"),
    ("garbage bearer", lambda h, t, tok: {"Authorization": "Bearer abc.def.ghi"}, 401, "malformed"),
    (
        "alg none",
        lambda h, t, tok: {
            "Authorization": "Bearer "
            + _b64(json.dumps({"alg": "none", "kid": jwt.get_unverified_header(tok)["kid"]}).encode())
            + "."
            + tok.split(".")[1]
            + "."
        },
        401,
        "unsupported_algorithm",
    ),
    (
        "tampered payload",
        lambda h, t, tok: {
            "Authorization": "Bearer "
            + tok.split(".")[0]
            + "."
            + _b64(json.dumps({**jwt.decode(tok, options={"verify_signature": False}), "sub": "other"}).encode())
            + "."
            + tok.split(".")[2]
        },
        401,
        "bad_signature",
    ),
    ("wrong api key secret", lambda h, t, tok: {"X-API-Key": t.key.token[:-4] + "AAAA"}, 401, "unknown_key"),
    ("api key and another token", lambda h, t, tok: {"X-API-Key": t.key.token, "Authorization": f"Bearer {tok}x"},
     401, "ambiguous_credentials"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "headers", "status", "code"), HTTP_ATTACKS, ids=[a[0] for a in HTTP_ATTACKS])
async def test_refusals_are_json_with_code_and_request_id(harness, what, headers, status, code):
    tenant = await harness.tenant()
    token = await harness.token(tenant)
    response = await harness.client.get("/v1/profiles", headers=headers(harness, tenant, token))
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["x-request-id"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert tenant.key.secret not in response.text


async def test_unknown_kid_and_suspended_tenant_over_http(harness):
    tenant = await harness.tenant()
    forged = await _forged(harness, tenant)
    response = await harness.client.get("/v1/tenants/me", headers={"Authorization": f"Bearer {forged}"})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unknown_kid")
    await registry.set_tenant_state(harness.pool, tenant.name, "suspended")
    deadline = time.monotonic() + 2
    while True:
        response = await harness.client.get("/v1/tenants/me", headers=tenant.headers)
        if response.status_code != 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.01)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "tenant_suspended")
    assert "www-authenticate" not in response.headers


async def test_request_ids_are_propagated_or_generated(harness):
    tenant = await harness.tenant()
    given = await harness.client.get("/v1/tenants/me", headers={**tenant.headers, "X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    unsafe = await harness.client.get("/v1/tenants/me", headers={**tenant.headers, "X-Request-ID": "a b\x7f"})
    generated = await harness.client.get("/v1/tenants/me", headers=tenant.headers)
    assert unsafe.headers["x-request-id"] not in ("a b\x7f", "")
    assert generated.headers["x-request-id"] != unsafe.headers["x-request-id"]
