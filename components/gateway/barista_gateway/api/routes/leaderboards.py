"""Leaderboards by platform, category, country or growth."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from barista_gateway.api.deps import PoolDep, TenantSchema
from barista_gateway.models import Dimension, ErrorResponse, LeaderboardPage, Platform
from barista_gateway.services import leaderboards as service

router = APIRouter(prefix="/v1/leaderboards", tags=["leaderboards"])


@router.get(
    "/{dimension}",
    response_model=LeaderboardPage,
    responses={403: {"model": ErrorResponse, "description": "feature_not_in_plan (leaderboards)"}},
)
async def get_leaderboard(
    pool: PoolDep,
    schema: TenantSchema,
    dimension: Dimension,
    response: Response,
    bucket: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="category or country")] = None,
    platform: Platform | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> LeaderboardPage:
    """Ranked creators. ``category`` and ``country`` need ``bucket`` (e.g. fashion, IN)."""
    page = await service.leaderboard(
        pool, schema=schema, dimension=dimension, bucket=bucket, platform=platform, limit=limit, cursor=cursor
    )
    response.headers["Cache-Control"] = "private, max-age=300"
    return page
