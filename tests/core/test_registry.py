from __future__ import annotations

import asyncio
import dataclasses

import psycopg
import pytest

from barista_core.auth.apikeys import generate_api_key, parse_api_key, secret_matches
from barista_core.backends import open_postgres
from barista_core.plans import Feature, Plan, effective_features, effective_limits
from barista_core.registry import (
    NOTIFY_CHANNEL,
    TenantRecord,
    delete_tenant,
    ensure_registry,
    find_api_key,
    get_tenant,
    list_tenants,
    register_api_key,
    revoke_api_key,
    set_tenant_state,
    upsert_tenant,
)


@pytest.fixture
async def pool(pg_url):
    pool = await open_postgres(pg_url)
    await ensure_registry(pool)
    yield pool
    await pool.close()


def record(name: str = "acme", plan: Plan = Plan.SAAS, **overrides) -> TenantRecord:
    values = {
        "name": name,
        "display_name": name.title(),
        "plan": plan,
        "limits": effective_limits(plan),
        "features": effective_features(plan),
        **overrides,
    }
    return TenantRecord(**values)


async def test_migrations_are_idempotent(pool):
    await ensure_registry(pool)
    await ensure_registry(pool)
    async with pool.connection() as conn:
        rows = await (
            await conn.execute("SELECT version FROM barista.schema_migrations WHERE component = 'registry'")
        ).fetchall()
    assert rows == [(1,)]


async def test_concurrent_migrations_apply_once(pg_url):
    pools = [await open_postgres(pg_url) for _ in range(3)]
    try:
        await asyncio.gather(*(ensure_registry(p) for p in pools))
        async with pools[0].connection() as conn:
            count = (await (await conn.execute("SELECT count(*) FROM barista.schema_migrations")).fetchone())[0]
        assert count == 1
    finally:
        for p in pools:
            await p.close()


async def test_tenant_round_trip_and_state(pool):
    await upsert_tenant(pool, record())
    stored = await get_tenant(pool, "acme")
    assert stored is not None
    assert stored.plan is Plan.SAAS
    assert stored.limits == effective_limits(Plan.SAAS)
    assert stored.has(Feature.LEADERBOARDS) and not stored.has(Feature.FAKE_FOLLOWER_SCORING)
    assert await set_tenant_state(pool, "acme", "suspended")
    assert not await set_tenant_state(pool, "acme", "suspended")  # no change, no write
    assert (await get_tenant(pool, "acme")).state == "suspended"
    await upsert_tenant(pool, record(plan=Plan.PAID, state="active"))
    assert (await get_tenant(pool, "acme")).plan is Plan.PAID
    assert [t.name for t in await list_tenants(pool)] == ["acme"]


async def test_invalid_rows_are_refused_by_the_database(pool):
    with pytest.raises(psycopg.errors.CheckViolation):
        await upsert_tenant(pool, record(name="Not_A_Label"))


async def test_api_keys_are_stored_hashed_and_cascade(pool):
    await upsert_tenant(pool, record())
    key = generate_api_key()
    await register_api_key(pool, "acme", key, label="default")
    await register_api_key(pool, "acme", key)  # idempotent
    found = await find_api_key(pool, key.key_id)
    assert found is not None and found.tenant == "acme" and not found.revoked
    assert secret_matches(key.secret, found.secret_hash)
    assert not secret_matches(generate_api_key().secret, found.secret_hash)
    async with pool.connection() as conn:
        dumped = await (await conn.execute("SELECT * FROM barista.api_keys")).fetchall()
    assert key.secret not in repr(dumped)
    assert await revoke_api_key(pool, key.key_id)
    assert (await find_api_key(pool, key.key_id)).revoked
    assert await delete_tenant(pool, "acme")
    assert await find_api_key(pool, key.key_id) is None
    assert not await delete_tenant(pool, "acme")


async def test_a_tenant_and_its_key_are_written_in_one_transaction(pool):
    key = generate_api_key()
    await upsert_tenant(pool, record(), api_key=key, key_label="operator")
    await upsert_tenant(pool, record(), api_key=key, key_label="operator")  # idempotent
    found = await find_api_key(pool, key.key_id)
    assert found is not None and found.tenant == "acme" and secret_matches(key.secret, found.secret_hash)

    refused = dataclasses.replace(generate_api_key(), key_id="not-a-key-id")  # the key's CHECK fails
    with pytest.raises(psycopg.errors.CheckViolation):
        await upsert_tenant(pool, record("globex"), api_key=refused)
    assert await get_tenant(pool, "globex") is None  # the tenant row went with it
    assert [t.name for t in await list_tenants(pool)] == ["acme"]  # and the pooled connection still works


async def test_changes_are_announced(pool, pg_url):
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as listener:
        await listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        await upsert_tenant(pool, record("globex"))
        await set_tenant_state(pool, "globex", "suspended")
        await delete_tenant(pool, "globex")
        received = []
        async with asyncio.timeout(5):
            async for notification in listener.notifies():
                received.append(notification.payload)
                if len(received) == 3:
                    break
    assert received == ["globex", "globex", "globex"]


def test_api_key_format():
    key = generate_api_key()
    assert parse_api_key(key.token) == key
    assert "secret" not in repr(key) or "***" in repr(key)
    assert key.secret not in repr(key)
    for bad in ["", "bk_short_x", key.token + "x", key.token.replace("bk_", "sk_"), " " * 5]:
        assert parse_api_key(bad) is None
