"""The calling tenant: its plan, limits and features, and its usage."""

from __future__ import annotations

from fastapi import APIRouter, Response

from barista_gateway.api.deps import CurrentTenant, GatewayDep
from barista_gateway.models import TenantPublic, UsagePublic
from barista_gateway.services.tenants import tenant_public, tenant_usage

router = APIRouter(tags=["tenant"])


@router.get("/v1/tenants/me", response_model=TenantPublic)
async def me(tenant: CurrentTenant, response: Response) -> TenantPublic:
    """Who the credential belongs to, with its plan, effective limits and features."""
    response.headers["Cache-Control"] = "no-store"
    return tenant_public(tenant)


@router.get("/v1/usage", response_model=UsagePublic)
async def usage(tenant: CurrentTenant, gateway: GatewayDep, response: Response) -> UsagePublic:
    """Requests, events and scrapes today and this month, against the plan's limits."""
    response.headers["Cache-Control"] = "no-store"
    return await tenant_usage(gateway.usage, tenant=tenant)
