"""What the tenant API accepts and returns. Public shapes only: internal fields (hashes, registry
generations, search vectors, session keys) have no place here, so they cannot leak."""

from __future__ import annotations

import datetime
import uuid
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

HANDLE_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"


class Platform(StrEnum):
    INSTAGRAM = "instagram"
    YOUTUBE = "youtube"
    TIKTOK = "tiktok"
    TWITTER = "twitter"
    TWITCH = "twitch"


class Dimension(StrEnum):
    PLATFORM = "platform"
    CATEGORY = "category"
    COUNTRY = "country"
    GROWTH = "growth"


class ProfileSort(StrEnum):
    FOLLOWERS = "followers"
    ENGAGEMENT = "engagement_rate"
    FAKE_FOLLOWERS = "fake_follower_share"
    GROWTH = "growth"
    HANDLE = "handle"


class Interval(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    code: str = Field(examples=["feature_not_in_plan"])
    message: str
    request_id: str


class ErrorResponse(BaseModel):
    error: ErrorBody


# ---- auth ---------------------------------------------------------------------------------------------


class TokenPublic(_Out):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int = Field(description="Seconds until the token expires.")
    expires_at: datetime.datetime
    session_id: str = Field(description="Ends with POST /v1/auth/logout (or when the token expires).")


# ---- tenants and usage --------------------------------------------------------------------------------


class TenantPublic(_Out):
    name: str
    display_name: str
    plan: str
    tenancy: str
    state: str
    limits: dict[str, int]
    features: list[str]


class UsageFigure(_Out):
    today: int
    month: int
    limit: int
    limit_period: Literal["minute", "second"]


class UsagePublic(_Out):
    tenant: str
    plan: str
    day: datetime.date
    requests: UsageFigure
    requests_this_minute: int
    events: UsageFigure
    scrapes: UsageFigure


# ---- profiles -----------------------------------------------------------------------------------------


class ProfilePublic(_Out):
    platform: Platform
    handle: str
    creator_id: str
    display_name: str
    bio: str
    category: str | None
    country: str | None
    language: str | None
    followers: int
    following: int
    posts: int
    engagement_rate: float | None
    fake_follower_share: float | None
    followers_growth_30d: float | None
    verified: bool
    updated_at: datetime.datetime


class ProfilePage(_Out):
    items: list[ProfilePublic]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")


class TimeseriesPoint(_Out):
    t: datetime.datetime
    followers: int
    following: int
    posts: int
    engagement_rate: float | None


class Timeseries(_Out):
    platform: Platform
    handle: str
    interval: Interval
    points: list[TimeseriesPoint]


# ---- collections --------------------------------------------------------------------------------------


class CollectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)


class CollectionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)


class CollectionPublic(_Out):
    id: uuid.UUID
    name: str
    description: str
    size: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class CollectionItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: Platform
    handle: str = Field(pattern=HANDLE_PATTERN)
    note: str = Field(default="", max_length=500)


class CollectionItemPublic(_Out):
    platform: Platform
    handle: str
    note: str
    added_at: datetime.datetime
    profile: ProfilePublic | None = Field(description="The profile, when it is in the serving table.")


class CollectionDetail(CollectionPublic):
    items: list[CollectionItemPublic]


class CollectionList(_Out):
    items: list[CollectionPublic]


# ---- leaderboards -------------------------------------------------------------------------------------


class LeaderboardEntry(_Out):
    rank: int
    platform: str
    creator_id: str
    handle: str
    display_name: str
    score: float
    followers: int
    engagement_rate: float | None
    growth_30d: float | None


class LeaderboardPage(_Out):
    dimension: Dimension
    bucket: str
    platform: Platform | None
    items: list[LeaderboardEntry]
    next_cursor: str | None


# ---- events -------------------------------------------------------------------------------------------


class EventsRequest(BaseModel):
    """A batch as JSON: the same fields as the gRPC ``PublishRequest`` (snake_case or camelCase)."""

    events: list[dict[str, Any]] = Field(description="Events: id, type, occurred_at, user_id, properties, …")


class EventsResponse(BaseModel):
    statuses: list[dict[str, Any]]
    accepted: int
    rejected: int
    unavailable: int
    rateLimited: int
    batchId: str
    retryAfterMs: int
