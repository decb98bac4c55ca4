"""Dependencies of the tenant API as ``Annotated`` aliases. The principal was put on the request by
the edge after verifying the credential; routes never read a tenant from the request itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from barista_core.auth.verifier import Principal
from barista_core.registry import TenantRecord
from barista_gateway.api.errors import ApiError
from barista_gateway.edge.cache import ResponseCache
from barista_gateway.gateway import Gateway
from barista_gateway.storage import TenantStores


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway


def get_principal(request: Request) -> Principal:
    principal = request.scope.get("barista.principal")
    if not isinstance(principal, Principal):  # only reachable when the app runs without its edge
        raise ApiError(401, "missing_credentials", "send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'")
    return principal


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_tenant(principal: PrincipalDep) -> TenantRecord:
    return principal.tenant


CurrentTenant = Annotated[TenantRecord, Depends(get_tenant)]


def get_pool(gateway: GatewayDep) -> AsyncConnectionPool:
    assert gateway.postgres is not None
    return gateway.postgres


def get_stores(gateway: GatewayDep) -> TenantStores:
    return gateway.stores


def get_cache(gateway: GatewayDep) -> ResponseCache:
    return gateway.cache


PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]
StoresDep = Annotated[TenantStores, Depends(get_stores)]
CacheDep = Annotated[ResponseCache, Depends(get_cache)]


async def get_schema(tenant: CurrentTenant, stores: StoresDep) -> sql.Identifier:
    """The current tenant's serving schema (created on first use)."""
    return await stores.schema(tenant.name)


async def get_database(tenant: CurrentTenant, stores: StoresDep) -> str:
    """The current tenant's ClickHouse database (tables created on first use)."""
    return await stores.database(tenant.name)


TenantSchema = Annotated[sql.Identifier, Depends(get_schema)]
TenantDatabase = Annotated[str, Depends(get_database)]
