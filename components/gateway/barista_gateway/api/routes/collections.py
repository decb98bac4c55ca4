"""Collections (watchlists): CRUD and adding/removing profiles. Writes invalidate the tenant's cache."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from barista_gateway.api.deps import CacheDep, CurrentTenant, PoolDep, TenantSchema
from barista_gateway.api.routes.profiles import Handle
from barista_gateway.models import (
    CollectionCreate,
    CollectionDetail,
    CollectionItemCreate,
    CollectionList,
    CollectionPublic,
    CollectionUpdate,
    ErrorResponse,
    Platform,
)
from barista_gateway.services import collections as service

router = APIRouter(prefix="/v1/collections", tags=["collections"])
_ERRORS = {
    403: {"model": ErrorResponse, "description": "feature_not_in_plan (discovery)"},
    404: {"model": ErrorResponse},
    409: {"model": ErrorResponse},
}
CACHE = "private, max-age=30"


@router.get("", response_model=CollectionList, responses=_ERRORS)
async def list_collections(pool: PoolDep, schema: TenantSchema, response: Response) -> CollectionList:
    response.headers["Cache-Control"] = CACHE
    return CollectionList(items=await service.list_collections(pool, schema=schema))


@router.post("", response_model=CollectionPublic, status_code=201, responses=_ERRORS)
async def create_collection(
    pool: PoolDep, schema: TenantSchema, cache: CacheDep, tenant: CurrentTenant, data: CollectionCreate
) -> CollectionPublic:
    created = await service.create_collection(pool, schema=schema, data=data)
    await cache.invalidate(tenant.name)
    return created


@router.get("/{collection_id}", response_model=CollectionDetail, responses=_ERRORS)
async def get_collection(
    pool: PoolDep, schema: TenantSchema, collection_id: uuid.UUID, response: Response
) -> CollectionDetail:
    response.headers["Cache-Control"] = CACHE
    return await service.get_collection(pool, schema=schema, collection_id=collection_id)


@router.patch("/{collection_id}", response_model=CollectionPublic, responses=_ERRORS)
async def update_collection(
    pool: PoolDep,
    schema: TenantSchema,
    cache: CacheDep,
    tenant: CurrentTenant,
    collection_id: uuid.UUID,
    data: CollectionUpdate,
) -> CollectionPublic:
    updated = await service.update_collection(pool, schema=schema, collection_id=collection_id, data=data)
    await cache.invalidate(tenant.name)
    return updated


@router.delete("/{collection_id}", status_code=204, responses=_ERRORS)
async def delete_collection(
    pool: PoolDep, schema: TenantSchema, cache: CacheDep, tenant: CurrentTenant, collection_id: uuid.UUID
) -> Response:
    await service.delete_collection(pool, schema=schema, collection_id=collection_id)
    await cache.invalidate(tenant.name)
    return Response(status_code=204)


@router.post("/{collection_id}/profiles", status_code=204, responses=_ERRORS)
async def add_profile(
    pool: PoolDep,
    schema: TenantSchema,
    cache: CacheDep,
    tenant: CurrentTenant,
    collection_id: uuid.UUID,
    item: CollectionItemCreate,
) -> Response:
    """Add a profile (idempotent; a second add updates the note)."""
    await service.add_item(pool, schema=schema, collection_id=collection_id, item=item)
    await cache.invalidate(tenant.name)
    return Response(status_code=204)


@router.delete("/{collection_id}/profiles/{platform}/{handle}", status_code=204, responses=_ERRORS)
async def remove_profile(
    pool: PoolDep,
    schema: TenantSchema,
    cache: CacheDep,
    tenant: CurrentTenant,
    collection_id: uuid.UUID,
    platform: Platform,
    handle: Handle,
) -> Response:
    await service.remove_item(pool, schema=schema, collection_id=collection_id, platform=platform.value, handle=handle)
    await cache.invalidate(tenant.name)
    return Response(status_code=204)
