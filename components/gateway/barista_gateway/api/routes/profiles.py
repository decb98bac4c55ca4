"""Creator discovery: search, one profile, its time series."""

from __future__ import annotations

import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from barista_gateway.api.deps import PoolDep, StoresDep, TenantDatabase, TenantSchema
from barista_gateway.api.errors import ApiError, not_found
from barista_gateway.models import (
    HANDLE_PATTERN,
    ErrorResponse,
    Interval,
    Platform,
    ProfilePage,
    ProfilePublic,
    ProfileSort,
    Timeseries,
)
from barista_gateway.services import profiles as service

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])
_ERRORS = {
    403: {"model": ErrorResponse, "description": "feature_not_in_plan (discovery)"},
    429: {"model": ErrorResponse},
}
Handle = Annotated[str, Path(pattern=HANDLE_PATTERN, description="The handle on the platform.")]
CACHE = "private, max-age=60"


@router.get("", response_model=ProfilePage, responses=_ERRORS)
async def search_profiles(
    pool: PoolDep,
    schema: TenantSchema,
    response: Response,
    platform: Annotated[list[Platform] | None, Query(description="One or more platforms.")] = None,
    category: Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,64}$")] = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")] = None,
    language: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$", description="ISO 639-1")] = None,
    min_followers: Annotated[int | None, Query(ge=0, le=10**12)] = None,
    max_followers: Annotated[int | None, Query(ge=0, le=10**12)] = None,
    min_engagement: Annotated[float | None, Query(ge=0, le=100, description="Engagement rate, 0.05 = 5 %")] = None,
    max_engagement: Annotated[float | None, Query(ge=0, le=100)] = None,
    max_fake_followers: Annotated[float | None, Query(ge=0, le=1, description="Largest fake-follower share")] = None,
    verified: bool | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Words in handle, name or bio")] = None,
    sort: ProfileSort = ProfileSort.FOLLOWERS,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ProfilePage:
    """Search the tenant's creators. Results are ordered by ``sort`` and paged with ``next_cursor``."""
    if min_followers is not None and max_followers is not None and min_followers > max_followers:
        raise ApiError(422, "invalid_request", "min_followers is larger than max_followers")
    filters = service.ProfileFilters(
        platforms=tuple(platform or ()),
        category=category,
        country=country,
        language=language,
        min_followers=min_followers,
        max_followers=max_followers,
        min_engagement=min_engagement,
        max_engagement=max_engagement,
        max_fake_follower_share=max_fake_followers,
        verified=verified,
        q=q,
    )
    response.headers["Cache-Control"] = CACHE
    return await service.search_profiles(
        pool, schema=schema, filters=filters, sort=sort, descending=order == "desc", limit=limit, cursor=cursor
    )


@router.get("/{platform}/{handle}", response_model=ProfilePublic, responses=_ERRORS)
async def get_profile(
    pool: PoolDep, schema: TenantSchema, platform: Platform, handle: Handle, response: Response
) -> ProfilePublic:
    """One creator profile."""
    profile = await service.get_profile(pool, schema=schema, platform=platform, handle=handle)
    if profile is None:
        raise not_found("profile")
    response.headers["Cache-Control"] = CACHE
    return profile


@router.get("/{platform}/{handle}/timeseries", response_model=Timeseries, responses=_ERRORS)
async def get_timeseries(
    pool: PoolDep,
    schema: TenantSchema,
    stores: StoresDep,
    database: TenantDatabase,
    platform: Platform,
    handle: Handle,
    response: Response,
    interval: Interval = Interval.DAY,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> Timeseries:
    """Followers and engagement over time (ClickHouse), one point per interval; default: the last 90 days."""
    now = datetime.datetime.now(datetime.UTC)
    until = _aware(until) if until else now
    since = _aware(since) if since else until - datetime.timedelta(days=90)
    if since >= until:
        raise ApiError(422, "invalid_request", "since must be before until")
    if until - since > datetime.timedelta(days=3 * 366):
        raise ApiError(422, "invalid_request", "at most three years per request")
    series = await service.profile_timeseries(
        stores, database=database, platform=platform, handle=handle, interval=interval, since=since, until=until
    )
    if not series.points and await service.get_profile(pool, schema=schema, platform=platform, handle=handle) is None:
        raise not_found("profile")
    response.headers["Cache-Control"] = "private, max-age=300"
    return series


def _aware(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
