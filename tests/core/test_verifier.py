"""The credential verifier on the machine's PostgreSQL and Redis: an attack table, caching, revocation,
rotation and invalidation across replicas (two verifiers = two replicas sharing the backends)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import jwt
import psycopg
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm

from barista_core import registry
from barista_core.auth.apikeys import ApiKey, generate_api_key
from barista_core.auth.keyring import SigningKey, generate_signing_key, publish_key, retire_key
from barista_core.auth.sessions import SessionStore
from barista_core.auth.tokens import TokenIssuer
from barista_core.auth.verifier import AuthError, CredentialVerifier, Principal
from barista_core.backends import open_postgres
from barista_core.plans import Plan, plan_spec

pytestmark = [pytest.mark.services, pytest.mark.asyncio(loop_scope="module")]

ISSUER, AUDIENCE = "barista", "barista-api"


@dataclass
class World:
    pool: object
    redis: aioredis.Redis
    prefix: str
    verifier: CredentialVerifier
    issuer: TokenIssuer
    key: SigningKey  # a published key the tests sign with directly

    async def tenant(self, plan: Plan = Plan.SAAS) -> tuple[str, ApiKey]:
        name = "t-" + uuid.uuid4().hex[:10]
        spec = plan_spec(plan)
        await registry.upsert_tenant(
            self.pool,
            registry.TenantRecord(name=name, display_name=name, plan=plan, limits=spec.limits, features=spec.features),
        )
        api_key = generate_api_key()
        await registry.register_api_key(self.pool, name, api_key)
        return name, api_key

    async def session(self, tenant: str, key_id: str | None) -> str:
        return await SessionStore(self.redis, prefix=self.prefix).create(tenant=tenant, key_id=key_id, ttl=600)

    def claims(self, tenant: str, sid: str, key_id: str | None, **changes: object) -> dict[str, object]:
        now = int(time.time())
        base: dict[str, object] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": tenant,
            "sid": sid,
            "akid": key_id,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        base.update(changes)
        return {k: v for k, v in base.items() if v is not None or k == "akid"}

    def sign(self, claims: dict[str, object], *, key: SigningKey | None = None, headers: dict | None = None) -> str:
        key = key or self.key
        return jwt.encode(claims, key.private_key, algorithm="ES256", headers={"kid": key.kid, **(headers or {})})


@pytest.fixture(scope="module")
def module_pg_url(postgres_server_url: str):
    name = "barista_test_verifier_" + uuid.uuid4().hex[:10]
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres_server_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _replica(world: World) -> CredentialVerifier:
    """A second verifier on the same backends: another replica of the gateway (or ingest)."""
    other = CredentialVerifier(postgres=world.pool, redis=world.redis, prefix=world.prefix)
    await other.start()
    return other


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(module_pg_url: str) -> AsyncIterator[World]:
    prefix = "barista-test-verifier-" + uuid.uuid4().hex[:10] + ":"
    pool = await open_postgres(module_pg_url)
    redis = aioredis.from_url(os.environ.get("BARISTA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    verifier = CredentialVerifier(postgres=pool, redis=redis, prefix=prefix)
    await verifier.start()
    issuer = TokenIssuer(postgres=pool, redis=redis, prefix=prefix, bus=verifier.bus, ttl=600)
    await issuer.start()
    key = generate_signing_key()
    await publish_key(pool, key, valid_for=3600)
    try:
        yield World(pool, redis, prefix, verifier, issuer, key)
    finally:
        await issuer.close()
        await verifier.close()
        keys = [k async for k in redis.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await pool.close()


async def _rejected(world: World, authorization: str | None, api_key: str | None = None) -> AuthError:
    with pytest.raises(AuthError) as info:
        await world.verifier.authenticate(authorization, api_key)
    return info.value


async def _eventually_rejected(
    verifier: CredentialVerifier, authorization: str | None, api_key: str | None, within: float = 2.0
) -> tuple[AuthError, float]:
    started = time.monotonic()
    while True:
        try:
            await verifier.authenticate(authorization, api_key)
        except AuthError as exc:
            return exc, time.monotonic() - started
        if time.monotonic() - started > within:
            raise AssertionError(f"still accepted after {within} s")
        await asyncio.sleep(0.005)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _hs256(header: dict, claims: dict, secret: bytes) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


# ---- the attack table -----------------------------------------------------------------------------------
# Each attack builds its credential against fresh tenants, then must be refused with this code and status.

Attack = Callable[[World], Awaitable[tuple[str | None, str | None]]]


async def _valid_token(world: World) -> tuple[str, str, ApiKey, str]:
    tenant, api_key = await world.tenant()
    issued = await world.issuer.issue(tenant=tenant, key_id=api_key.key_id)
    return tenant, issued.token, api_key, issued.session_id


async def no_credentials(world: World):
    return None, None


async def basic_auth_scheme(world: World):
    return "Basic " + base64.b64encode(b"acme:secret").decode(), None


async def bearer_without_value(world: World):
    return "Bearer   ", None


async def garbage_token(world: World):
    return "Bearer not.a.jwt", None


async def alg_none(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    header = _b64(json.dumps({"alg": "none", "kid": world.key.kid, "typ": "JWT"}).encode())
    body = _b64(json.dumps(world.claims(tenant, sid, api_key.key_id)).encode())
    return f"Bearer {header}.{body}.", None


async def alg_confusion_hs256_with_public_key(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    public_pem = world.key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": world.key.kid, "typ": "JWT"}
    return "Bearer " + _hs256(header, world.claims(tenant, sid, api_key.key_id), public_pem), None


async def alg_confusion_hs256_with_jwk_json(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    secret = json.dumps(world.key.public_jwk).encode()
    header = {"alg": "HS256", "kid": world.key.kid}
    return "Bearer " + _hs256(header, world.claims(tenant, sid, api_key.key_id), secret), None


async def rs256_with_own_key(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        world.claims(tenant, sid, api_key.key_id), rsa_key, algorithm="RS256", headers={"kid": world.key.kid}
    )
    return f"Bearer {token}", None


async def es512_header_on_es256_key(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    p521 = ec.generate_private_key(ec.SECP521R1())
    token = jwt.encode(
        world.claims(tenant, sid, api_key.key_id), p521, algorithm="ES512", headers={"kid": world.key.kid}
    )
    return f"Bearer {token}", None


async def tampered_subject(world: World):
    _, token, _, _ = await _valid_token(world)
    victim, _ = await world.tenant()
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = victim
    return f"Bearer {header}.{_b64(json.dumps(claims).encode())}.{signature}", None


async def signed_by_attacker_key_with_our_kid(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    attacker = generate_signing_key()
    forged = SigningKey(kid=world.key.kid, alg="ES256", private_key=attacker.private_key)
    return "Bearer " + world.sign(world.claims(tenant, sid, api_key.key_id), key=forged), None


async def embedded_jwk_header(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    attacker = ec.generate_private_key(ec.SECP256R1())
    jwk = ECAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    token = jwt.encode(
        world.claims(tenant, sid, api_key.key_id),
        attacker,
        algorithm="ES256",
        headers={"kid": world.key.kid, "jwk": jwk, "jku": "https://evil.example/jwks.json"},
    )
    return f"Bearer {token}", None


async def expired(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    now = int(time.time())
    return "Bearer " + world.sign(
        world.claims(tenant, sid, api_key.key_id, iat=now - 900, nbf=now - 900, exp=now - 60)
    ), None


async def not_yet_valid(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    now = int(time.time())
    return "Bearer " + world.sign(world.claims(tenant, sid, api_key.key_id, nbf=now + 300)), None


async def issued_in_the_future(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    now = int(time.time())
    return "Bearer " + world.sign(world.claims(tenant, sid, api_key.key_id, iat=now + 300)), None


async def wrong_issuer(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    return "Bearer " + world.sign(world.claims(tenant, sid, api_key.key_id, iss="https://evil.example")), None


async def wrong_audience(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    return "Bearer " + world.sign(world.claims(tenant, sid, api_key.key_id, aud="another-service")), None


async def unknown_kid(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    unpublished = generate_signing_key()
    return "Bearer " + world.sign(world.claims(tenant, sid, api_key.key_id), key=unpublished), None


async def no_kid(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    token = jwt.encode(world.claims(tenant, sid, api_key.key_id), world.key.private_key, algorithm="ES256")
    return f"Bearer {token}", None


async def missing_session_claim(world: World):
    tenant, api_key = await world.tenant()
    claims = world.claims(tenant, "x", api_key.key_id)
    del claims["sid"]
    return "Bearer " + world.sign(claims), None


async def session_never_created(world: World):
    tenant, api_key = await world.tenant()
    return "Bearer " + world.sign(world.claims(tenant, "forged-session-id", api_key.key_id)), None


async def logged_out_session(world: World):
    _, token, _, sid = await _valid_token(world)
    await world.verifier.authenticate(f"Bearer {token}", None)  # cached as valid first
    await world.issuer.revoke(sid)
    return f"Bearer {token}", None


async def token_of_a_revoked_api_key(world: World):
    _, token, api_key, _ = await _valid_token(world)
    await world.verifier.authenticate(f"Bearer {token}", None)
    await registry.revoke_api_key(world.pool, api_key.key_id)
    await asyncio.sleep(0.3)  # the registry NOTIFY travels PostgreSQL → Redis → every replica
    return f"Bearer {token}", None


async def token_of_a_retired_signing_key(world: World):
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    doomed = generate_signing_key()
    await publish_key(world.pool, doomed, valid_for=600)
    await world.verifier.bus.publish("keys")  # as TokenIssuer.rotate() announces a new key
    await asyncio.sleep(0.1)
    token = world.sign(world.claims(tenant, sid, api_key.key_id), key=doomed)
    await world.verifier.authenticate(f"Bearer {token}", None)  # verified and cached
    await retire_key(world.pool, doomed.kid)  # compromised: withdrawn
    await world.verifier.bus.publish("keys")
    await asyncio.sleep(0.3)
    return f"Bearer {token}", None


async def oversized_token(world: World):
    return "Bearer " + "a" * 5000 + "." + "b" * 10 + "." + "c" * 10, None


async def api_key_wrong_secret(world: World):
    _, api_key = await world.tenant()
    return None, ApiKey(api_key.key_id, generate_api_key().secret).token


async def api_key_unknown_id(world: World):
    return None, generate_api_key().token


async def api_key_malformed(world: World):
    return None, "bk_1234_short"


async def api_key_revoked(world: World):
    _, api_key = await world.tenant()
    await registry.revoke_api_key(world.pool, api_key.key_id)
    return None, api_key.token


async def api_key_of_a_suspended_tenant(world: World):
    tenant, api_key = await world.tenant()
    await world.verifier.authenticate(None, api_key.token)
    await registry.set_tenant_state(world.pool, tenant, "suspended")
    await asyncio.sleep(0.3)
    return None, api_key.token


async def token_of_a_suspended_tenant(world: World):
    tenant, token, _, _ = await _valid_token(world)
    await world.verifier.authenticate(f"Bearer {token}", None)
    await registry.set_tenant_state(world.pool, tenant, "suspended")
    await asyncio.sleep(0.3)
    return f"Bearer {token}", None


async def token_of_a_deleted_tenant(world: World):
    tenant, token, _, _ = await _valid_token(world)
    await registry.delete_tenant(world.pool, tenant)
    await asyncio.sleep(0.3)
    return f"Bearer {token}", None


async def two_different_credentials(world: World):
    _, token, _, _ = await _valid_token(world)
    _, other_key = await world.tenant()
    return f"Bearer {token}", other_key.token


ATTACKS: list[tuple[Attack, str, int]] = [
    (no_credentials, "missing_credentials", 401),
    (basic_auth_scheme, "malformed", 401),
    (bearer_without_value, "malformed", 401),
    (garbage_token, "malformed", 401),
    (alg_none, "unsupported_algorithm", 401),
    (alg_confusion_hs256_with_public_key, "unsupported_algorithm", 401),
    (alg_confusion_hs256_with_jwk_json, "unsupported_algorithm", 401),
    (rs256_with_own_key, "unsupported_algorithm", 401),
    (es512_header_on_es256_key, "unsupported_algorithm", 401),
    (tampered_subject, "bad_signature", 401),
    (signed_by_attacker_key_with_our_kid, "bad_signature", 401),
    (embedded_jwk_header, "bad_signature", 401),
    (expired, "expired", 401),
    (not_yet_valid, "not_yet_valid", 401),
    (issued_in_the_future, "not_yet_valid", 401),
    (wrong_issuer, "wrong_issuer", 401),
    (wrong_audience, "wrong_audience", 401),
    (unknown_kid, "unknown_kid", 401),
    (no_kid, "malformed", 401),
    (missing_session_claim, "malformed", 401),
    (session_never_created, "revoked", 401),
    (logged_out_session, "revoked", 401),
    (token_of_a_revoked_api_key, "revoked", 401),
    (token_of_a_retired_signing_key, "unknown_kid", 401),
    (oversized_token, "malformed", 401),
    (api_key_wrong_secret, "unknown_key", 401),
    (api_key_unknown_id, "unknown_key", 401),
    (api_key_malformed, "malformed", 401),
    (api_key_revoked, "revoked", 401),
    (api_key_of_a_suspended_tenant, "tenant_suspended", 403),
    (token_of_a_suspended_tenant, "tenant_suspended", 403),
    (token_of_a_deleted_tenant, "unknown_tenant", 401),
    (two_different_credentials, "ambiguous_credentials", 401),
]


@pytest.mark.parametrize(("attack", "code", "status"), ATTACKS, ids=[a[0].__name__ for a in ATTACKS])
async def test_attack_is_refused(world: World, attack: Attack, code: str, status: int):
    authorization, api_key = await attack(world)
    error = await _rejected(world, authorization, api_key)
    assert (error.code, error.status) == (code, status), error.message
    # a second replica that never saw this credential answers the same
    other = await _replica(world)
    try:
        with pytest.raises(AuthError) as info:
            await other.authenticate(authorization, api_key)
        assert (info.value.code, info.value.status) == (code, status)
    finally:
        await other.close()


# ---- what must work -------------------------------------------------------------------------------------


async def test_api_key_and_token_name_the_tenant(world: World):
    tenant, api_key = await world.tenant(Plan.FREE)
    by_key = await world.verifier.authenticate(None, api_key.token)
    assert isinstance(by_key, Principal)
    assert (by_key.tenant.name, by_key.tenant.plan, by_key.kind, by_key.key_id) == (
        tenant,
        Plan.FREE,
        "api_key",
        api_key.key_id,
    )
    assert by_key == await world.verifier.authenticate(f"Bearer {api_key.token}", None)
    issued = await world.issuer.issue(tenant=tenant, key_id=api_key.key_id)
    by_token = await world.verifier.authenticate(f"Bearer {issued.token}", None)
    assert (by_token.tenant.name, by_token.kind, by_token.session_id, by_token.key_id) == (
        tenant,
        "jwt",
        issued.session_id,
        api_key.key_id,
    )
    assert by_token.expires_at == issued.expires_at
    assert 590 <= issued.expires_in <= 600
    header = jwt.get_unverified_header(issued.token)
    assert header == {"alg": "ES256", "kid": world.issuer.current_kid, "typ": "JWT"}


async def test_logout_takes_effect_on_every_replica(world: World):
    tenant, api_key = await world.tenant()
    issued = await world.issuer.issue(tenant=tenant, key_id=api_key.key_id)
    replicas = [await _replica(world) for _ in range(2)]
    try:
        for replica in replicas:  # each has verified and cached the token
            assert (await replica.authenticate(f"Bearer {issued.token}", None)).session_id == issued.session_id
        await world.verifier.revoke_session(issued.session_id)
        # this replica refuses at once, without waiting for anything
        assert (await _rejected(world, f"Bearer {issued.token}")).code == "revoked"
        for replica in replicas:
            error, took = await _eventually_rejected(replica, f"Bearer {issued.token}", None, within=1.0)
            assert error.code == "revoked"
            assert took < 0.5
    finally:
        for replica in replicas:
            await replica.close()


async def test_plan_changes_reach_cached_principals(world: World):
    tenant, api_key = await world.tenant(Plan.FREE)
    assert (await world.verifier.authenticate(None, api_key.token)).tenant.plan == Plan.FREE
    spec = plan_spec(Plan.PAID)
    await registry.upsert_tenant(
        world.pool,
        registry.TenantRecord(
            name=tenant, display_name=tenant, plan=Plan.PAID, limits=spec.limits, features=spec.features
        ),
    )
    started = time.monotonic()
    while (await world.verifier.authenticate(None, api_key.token)).tenant.plan != Plan.PAID:
        assert time.monotonic() - started < 1.0, "the plan change did not arrive"
        await asyncio.sleep(0.005)
    principal = await world.verifier.authenticate(None, api_key.token)
    assert principal.tenant.limits == spec.limits


async def test_rotation_keeps_old_tokens_valid_and_new_ones_verify_everywhere(world: World):
    tenant, api_key = await world.tenant()
    before = await world.issuer.issue(tenant=tenant, key_id=api_key.key_id)
    other = await _replica(world)
    try:
        old_kid = world.issuer.current_kid
        await world.issuer.rotate()
        assert world.issuer.current_kid != old_kid
        after = await world.issuer.issue(tenant=tenant, key_id=api_key.key_id)
        assert jwt.get_unverified_header(after.token)["kid"] == world.issuer.current_kid
        for verifier in (world.verifier, other):
            assert (await verifier.authenticate(f"Bearer {before.token}", None)).tenant.name == tenant
            assert (await verifier.authenticate(f"Bearer {after.token}", None)).tenant.name == tenant
        kids = {k["kid"] for k in (await world.issuer.jwks(max_age=0))["keys"]}
        assert {old_kid, world.issuer.current_kid} <= kids
        assert all("d" not in k for k in (await world.issuer.jwks(max_age=0))["keys"])  # public halves only
    finally:
        await other.close()


async def test_verified_claims_are_cached_until_expiry(world: World):
    """After one signature check, a token is accepted from memory: withdrawing its key silently (no bus
    message) does not affect it, while a fresh replica — with nothing cached — refuses it."""
    tenant, api_key = await world.tenant()
    sid = await world.session(tenant, api_key.key_id)
    quiet = generate_signing_key()
    await publish_key(world.pool, quiet, valid_for=600)
    await world.verifier.bus.publish("keys")  # as TokenIssuer.rotate() announces a new key
    await asyncio.sleep(0.1)
    token = world.sign(world.claims(tenant, sid, api_key.key_id), key=quiet)
    assert (await world.verifier.authenticate(f"Bearer {token}", None)).tenant.name == tenant
    await retire_key(world.pool, quiet.kid)  # no announcement
    started = time.perf_counter()
    for _ in range(1000):
        await world.verifier.authenticate(f"Bearer {token}", None)
    per_call = (time.perf_counter() - started) / 1000
    assert per_call < 60e-6  # far below one ES256 verification on this machine (~180 µs)
    other = await _replica(world)
    try:
        with pytest.raises(AuthError, match="unknown or retired"):
            await other.authenticate(f"Bearer {token}", None)
    finally:
        await other.close()


async def test_only_tenant_refuses_other_tenants(world: World):
    mine, my_key = await world.tenant()
    _, their_key = await world.tenant()
    silo = CredentialVerifier(postgres=world.pool, redis=world.redis, prefix=world.prefix, only_tenant=mine)
    await silo.start()
    try:
        assert (await silo.authenticate(None, my_key.token)).tenant.name == mine
        with pytest.raises(AuthError) as info:
            await silo.authenticate(None, their_key.token)
        assert (info.value.code, info.value.status) == ("wrong_tenant", 403)
    finally:
        await silo.close()


async def test_new_api_keys_work_at_once_despite_a_cached_miss(world: World):
    tenant, _ = await world.tenant()
    fresh = generate_api_key()
    assert (await _rejected(world, None, fresh.token)).code == "unknown_key"  # remembered as unknown
    await registry.register_api_key(world.pool, tenant, fresh)
    started = time.monotonic()
    while True:
        try:
            assert (await world.verifier.authenticate(None, fresh.token)).tenant.name == tenant
            break
        except AuthError:
            assert time.monotonic() - started < 1.0
            await asyncio.sleep(0.005)


async def test_a_configured_signing_key_keeps_its_kid_across_restarts(world: World):
    from barista_core.auth.keyring import load_signing_key, signing_key_pem
    from barista_core.errors import ConfigError

    pem = signing_key_pem(generate_signing_key())
    first, second = load_signing_key(pem), load_signing_key(pem)
    assert first.kid == second.kid  # RFC 7638 thumbprint: the same key is the same kid everywhere
    assert "PRIVATE" not in repr(first)
    issuer = TokenIssuer(postgres=world.pool, redis=world.redis, prefix=world.prefix, signing_key=first, ttl=600)
    await issuer.start()
    try:
        tenant, api_key = await world.tenant()
        issued = await issuer.issue(tenant=tenant, key_id=api_key.key_id)
        assert jwt.get_unverified_header(issued.token)["kid"] == first.kid
        assert (await world.verifier.authenticate(f"Bearer {issued.token}", None)).tenant.name == tenant
    finally:
        await issuer.close()
    with pytest.raises(ConfigError, match="not a PEM private key"):
        load_signing_key("not a key")
    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ConfigError, match="P-256"):
        load_signing_key(rsa_pem.decode())
