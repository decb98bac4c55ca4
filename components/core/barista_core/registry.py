"""The tenant registry in PostgreSQL: who the tenants are, their plan, limits, features, state and API keys.

The operator writes it (from Tenant resources); the gateway and ingest read it. Every change is
announced with ``NOTIFY barista_registry, '<tenant>'`` so readers can drop cached entries at once.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Literal

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from barista_core.auth.apikeys import ApiKey
from barista_core.migrations import Migration, migrate_postgres
from barista_core.plans import Feature, Limits, Plan

NOTIFY_CHANNEL = "barista_registry"
TenantState = Literal["active", "suspended"]

MIGRATIONS = [
    Migration(
        1,
        "tenants and api keys",
        """
        CREATE TABLE barista.tenants (
            name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' AND length(name) <= 63),
            display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
            plan          text NOT NULL CHECK (plan IN ('FREE', 'SAAS', 'PAID')),
            tenancy       text NOT NULL DEFAULT 'pool' CHECK (tenancy IN ('pool', 'silo')),
            limits        jsonb NOT NULL,
            features      text[] NOT NULL DEFAULT '{}',
            state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'suspended')),
            generation    bigint,
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE barista.api_keys (
            key_id      text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
            tenant      text NOT NULL REFERENCES barista.tenants (name) ON DELETE CASCADE,
            secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
            label       text NOT NULL DEFAULT '',
            created_at  timestamptz NOT NULL DEFAULT now(),
            revoked_at  timestamptz
        );
        CREATE INDEX api_keys_tenant ON barista.api_keys (tenant);
        CREATE FUNCTION barista.notify_registry() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_TABLE_NAME = 'tenants' THEN
                PERFORM pg_notify('barista_registry', CASE WHEN TG_OP = 'DELETE' THEN OLD.name ELSE NEW.name END);
            ELSE
                PERFORM pg_notify('barista_registry', CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant ELSE NEW.tenant END);
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER tenants_notify AFTER INSERT OR UPDATE OR DELETE ON barista.tenants
            FOR EACH ROW EXECUTE FUNCTION barista.notify_registry();
        CREATE TRIGGER api_keys_notify AFTER INSERT OR UPDATE OR DELETE ON barista.api_keys
            FOR EACH ROW EXECUTE FUNCTION barista.notify_registry();
    """,
    ),
]


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantRecord:
    name: str
    display_name: str
    plan: Plan
    tenancy: Literal["pool", "silo"] = "pool"
    limits: Limits
    features: frozenset[Feature]
    state: TenantState = "active"
    generation: int | None = None
    updated_at: datetime.datetime | None = None

    def has(self, feature: Feature) -> bool:
        return feature in self.features


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    tenant: str
    secret_hash: bytes
    revoked: bool


async def ensure_registry(pool: AsyncConnectionPool) -> None:
    await migrate_postgres(pool, "registry", MIGRATIONS)


_UPSERT_TENANT = """
    INSERT INTO barista.tenants (name, display_name, plan, tenancy, limits, features, state, generation)
    VALUES (%(name)s, %(display_name)s, %(plan)s, %(tenancy)s, %(limits)s, %(features)s, %(state)s, %(generation)s)
    ON CONFLICT (name) DO UPDATE SET
        display_name = EXCLUDED.display_name, plan = EXCLUDED.plan, tenancy = EXCLUDED.tenancy,
        limits = EXCLUDED.limits, features = EXCLUDED.features, state = EXCLUDED.state,
        generation = EXCLUDED.generation, updated_at = now()
    WHERE (barista.tenants.display_name, barista.tenants.plan, barista.tenants.tenancy, barista.tenants.limits,
           barista.tenants.features, barista.tenants.state, barista.tenants.generation)
          IS DISTINCT FROM
          (EXCLUDED.display_name, EXCLUDED.plan, EXCLUDED.tenancy, EXCLUDED.limits, EXCLUDED.features,
           EXCLUDED.state, EXCLUDED.generation)
"""
_INSERT_API_KEY = """
    INSERT INTO barista.api_keys (key_id, tenant, secret_hash, label)
    VALUES (%(key_id)s, %(name)s, %(secret_hash)s, %(key_label)s)
    ON CONFLICT (key_id) DO NOTHING
"""
# One statement, so one round trip and one transaction: the key's row is checked against the tenant's
# (foreign key) at the end of the statement, when the tenant's row is there.
_UPSERT_TENANT_AND_KEY = f"WITH tenant AS ({_UPSERT_TENANT}) {_INSERT_API_KEY}"


async def upsert_tenant(
    pool: AsyncConnectionPool, record: TenantRecord, *, api_key: ApiKey | None = None, key_label: str = ""
) -> None:
    """Create or update the tenant's row; with ``api_key``, also store its hash (as :func:`register_api_key`)
    in the same statement."""
    params: dict[str, Any] = {
        "name": record.name,
        "display_name": record.display_name,
        "plan": record.plan.value,
        "tenancy": record.tenancy,
        "limits": Jsonb(record.limits.to_camel()),
        "features": sorted(f.value for f in record.features),
        "state": record.state,
        "generation": record.generation,
    }
    if api_key is not None:
        params.update(key_id=api_key.key_id, secret_hash=api_key.secret_hash, key_label=key_label)
    async with pool.connection() as conn:
        await conn.execute(_UPSERT_TENANT if api_key is None else _UPSERT_TENANT_AND_KEY, params)


async def get_tenant(pool: AsyncConnectionPool, name: str) -> TenantRecord | None:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT * FROM barista.tenants WHERE name = %s", (name,))
        row = await cur.fetchone()
    return _tenant(row) if row else None


async def list_tenants(pool: AsyncConnectionPool) -> list[TenantRecord]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT * FROM barista.tenants ORDER BY name")
        return [_tenant(row) for row in await cur.fetchall()]


async def set_tenant_state(pool: AsyncConnectionPool, name: str, state: TenantState) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE barista.tenants SET state = %s, updated_at = now() WHERE name = %s AND state <> %s",
            (state, name, state),
        )
        return cur.rowcount > 0


async def delete_tenant(pool: AsyncConnectionPool, name: str) -> bool:
    """Remove the tenant and its API keys; False when it was not there."""
    async with pool.connection() as conn:
        cur = await conn.execute("DELETE FROM barista.tenants WHERE name = %s", (name,))
        return cur.rowcount > 0


async def register_api_key(pool: AsyncConnectionPool, tenant: str, key: ApiKey, *, label: str = "") -> None:
    """Store the hash of ``key`` for ``tenant`` (idempotent; never stores the secret)."""
    async with pool.connection() as conn:
        await conn.execute(
            _INSERT_API_KEY, {"key_id": key.key_id, "name": tenant, "secret_hash": key.secret_hash, "key_label": label}
        )


async def find_api_key(pool: AsyncConnectionPool, key_id: str) -> ApiKeyRecord | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT key_id, tenant, secret_hash, revoked_at IS NOT NULL FROM barista.api_keys WHERE key_id = %s",
            (key_id,),
        )
        row = await cur.fetchone()
    return ApiKeyRecord(row[0], row[1], bytes(row[2]), row[3]) if row else None


async def revoke_api_key(pool: AsyncConnectionPool, key_id: str) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE barista.api_keys SET revoked_at = now() WHERE key_id = %s AND revoked_at IS NULL", (key_id,)
        )
        return cur.rowcount > 0


def _tenant(row: dict[str, Any]) -> TenantRecord:
    limits = Limits.from_camel(row["limits"])
    return TenantRecord(
        name=row["name"],
        display_name=row["display_name"],
        plan=Plan(row["plan"]),
        tenancy=row["tenancy"],
        limits=limits,
        features=frozenset(Feature(f) for f in row["features"]),
        state=row["state"],
        generation=row["generation"],
        updated_at=row["updated_at"],
    )
