"""Creator discovery over the tenant's ``profiles`` serving table and ``profile_snapshots`` in ClickHouse.

SQL is composed only from fixed fragments chosen by validated enums; every value is a parameter.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from dataclasses import dataclass
from typing import Any

import orjson
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from barista_gateway.api.errors import ApiError
from barista_gateway.models import (
    HANDLE_PATTERN,
    Interval,
    Platform,
    ProfilePage,
    ProfilePublic,
    ProfileSort,
    Timeseries,
    TimeseriesPoint,
)
from barista_gateway.storage import TenantStores

COLUMNS = sql.SQL(
    "platform, handle, creator_id, display_name, bio, category, country, language, followers, following, posts, "
    "engagement_rate, fake_follower_share, followers_growth_30d, verified, updated_at"
)
_SORT_KEYS: dict[ProfileSort, sql.Composable] = {
    ProfileSort.FOLLOWERS: sql.SQL("followers"),
    ProfileSort.ENGAGEMENT: sql.SQL("COALESCE(engagement_rate, -1.0)"),
    ProfileSort.FAKE_FOLLOWERS: sql.SQL("COALESCE(fake_follower_share, -1.0)"),
    ProfileSort.GROWTH: sql.SQL("COALESCE(followers_growth_30d, -1e300)"),
    ProfileSort.HANDLE: sql.SQL("lower(handle)"),
}
_HANDLE = re.compile(HANDLE_PATTERN)
_PLATFORMS = frozenset(p.value for p in Platform)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileFilters:
    platforms: tuple[Platform, ...] = ()
    category: str | None = None
    country: str | None = None
    language: str | None = None
    min_followers: int | None = None
    max_followers: int | None = None
    min_engagement: float | None = None
    max_engagement: float | None = None
    max_fake_follower_share: float | None = None
    verified: bool | None = None
    q: str | None = None


def _conditions(filters: ProfileFilters) -> tuple[list[sql.Composable], dict[str, Any]]:
    where: list[sql.Composable] = []
    params: dict[str, Any] = {}

    def add(fragment: str, **values: Any) -> None:
        where.append(sql.SQL(fragment))
        params.update(values)

    if filters.platforms:
        add("platform = ANY(%(platforms)s)", platforms=[p.value for p in filters.platforms])
    if filters.category is not None:
        add("category = %(category)s", category=filters.category)
    if filters.country is not None:
        add("country = %(country)s", country=filters.country.upper())
    if filters.language is not None:
        add("language = %(language)s", language=filters.language.lower())
    if filters.min_followers is not None:
        add("followers >= %(min_followers)s", min_followers=filters.min_followers)
    if filters.max_followers is not None:
        add("followers <= %(max_followers)s", max_followers=filters.max_followers)
    if filters.min_engagement is not None:
        add("engagement_rate >= %(min_engagement)s", min_engagement=filters.min_engagement)
    if filters.max_engagement is not None:
        add("engagement_rate <= %(max_engagement)s", max_engagement=filters.max_engagement)
    if filters.max_fake_follower_share is not None:
        add("fake_follower_share <= %(max_fake)s", max_fake=filters.max_fake_follower_share)
    if filters.verified is not None:
        add("verified = %(verified)s", verified=filters.verified)
    if filters.q:
        words = _WORD.findall(filters.q)[:8]
        if words:  # prefix match on every word: "nat geo" finds natgeo's "National Geographic"
            add("search @@ to_tsquery('simple', %(tsquery)s)", tsquery=" & ".join(f"{w}:*" for w in words))
    return where, params


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise ApiError(400, "invalid_cursor", "the cursor is not one this API handed out") from None
    if not isinstance(values, list) or len(values) != size:
        raise ApiError(400, "invalid_cursor", "the cursor is not one this API handed out")
    return values


async def search_profiles(
    pool: AsyncConnectionPool,
    *,
    schema: sql.Identifier,
    filters: ProfileFilters,
    sort: ProfileSort = ProfileSort.FOLLOWERS,
    descending: bool = True,
    limit: int = 25,
    cursor: str | None = None,
) -> ProfilePage:
    where, params = _conditions(filters)
    key = _SORT_KEYS[sort]
    if cursor is not None:
        sort_name, value, platform, handle = decode_cursor(cursor, 4)
        valid_value = isinstance(value, str) if sort is ProfileSort.HANDLE else isinstance(value, int | float)
        if (
            sort_name != sort.value
            or not valid_value
            or platform not in _PLATFORMS
            or not isinstance(handle, str)
            or not _HANDLE.match(handle)
        ):
            raise ApiError(400, "invalid_cursor", "the cursor belongs to another sort order or is damaged")
        where.append(
            sql.SQL("({key}, platform, handle) {op} (%(c_value)s, %(c_platform)s, %(c_handle)s)").format(
                key=key, op=sql.SQL("<" if descending else ">")
            )
        )
        params.update(c_value=value, c_platform=platform, c_handle=handle)
    direction = sql.SQL("DESC" if descending else "ASC")
    query = sql.SQL(
        "SELECT {columns}, {key} AS sort_key FROM {schema}.profiles {where} "
        "ORDER BY sort_key {direction}, platform {direction}, handle {direction} LIMIT %(limit)s"
    ).format(
        columns=COLUMNS,
        key=key,
        schema=schema,
        where=sql.SQL("WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
        direction=direction,
    )
    params["limit"] = limit + 1
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        rows = await cur.fetchall()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([sort.value, last["sort_key"], last["platform"], last["handle"]])
    return ProfilePage(items=[ProfilePublic.model_validate(row) for row in rows], next_cursor=next_cursor)


async def get_profile(
    pool: AsyncConnectionPool, *, schema: sql.Identifier, platform: Platform, handle: str
) -> ProfilePublic | None:
    query = sql.SQL("SELECT {columns} FROM {schema}.profiles WHERE platform = %s AND handle = %s").format(
        columns=COLUMNS, schema=schema
    )
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, (platform.value, handle))
        row = await cur.fetchone()
    return ProfilePublic.model_validate(row) if row else None


_BUCKETS = {
    Interval.HOUR: "toStartOfHour(observed_at)",
    Interval.DAY: "toStartOfDay(observed_at)",
    Interval.WEEK: "toDateTime(toMonday(observed_at), 'UTC')",
}


async def profile_timeseries(
    stores: TenantStores,
    *,
    database: str,
    platform: Platform,
    handle: str,
    interval: Interval,
    since: datetime.datetime,
    until: datetime.datetime,
) -> Timeseries:
    """Followers and engagement per interval: the last snapshot of each bucket, average engagement."""
    query = (
        f"SELECT {_BUCKETS[interval]} AS t, argMax(followers, observed_at), argMax(following, observed_at), "
        "argMax(posts, observed_at), avgOrNull(engagement_rate) "
        f"FROM `{database}`.profile_snapshots FINAL "
        "WHERE platform = {platform:String} AND handle = {handle:String} "
        "AND observed_at >= {since:DateTime64(3, 'UTC')} AND observed_at < {until:DateTime64(3, 'UTC')} "
        "GROUP BY t ORDER BY t LIMIT 10000"
    )
    rows = await stores.query_clickhouse(
        query,
        {"platform": platform.value, "handle": handle, "since": _naive_utc(since), "until": _naive_utc(until)},
    )
    points = [
        TimeseriesPoint(
            t=t if t.tzinfo else t.replace(tzinfo=datetime.UTC),
            followers=followers,
            following=following,
            posts=posts,
            engagement_rate=engagement,
        )
        for t, followers, following, posts, engagement in rows
    ]
    return Timeseries(platform=platform, handle=handle, interval=interval, points=points)


def _naive_utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value
