"""Leaderboards from the tenant's ``leaderboards`` serving table (filled by the pipelines' sync step)."""

from __future__ import annotations

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from barista_gateway.api.errors import ApiError
from barista_gateway.models import Dimension, LeaderboardEntry, LeaderboardPage, Platform
from barista_gateway.services.profiles import decode_cursor, encode_cursor

#: Dimensions whose entries are grouped by a value (category name, country code).
BUCKETED = frozenset({Dimension.CATEGORY, Dimension.COUNTRY})


async def leaderboard(
    pool: AsyncConnectionPool,
    *,
    schema: sql.Identifier,
    dimension: Dimension,
    bucket: str | None,
    platform: Platform | None,
    limit: int = 50,
    cursor: str | None = None,
) -> LeaderboardPage:
    if dimension in BUCKETED and not bucket:
        example = "fashion" if dimension is Dimension.CATEGORY else "IN"
        raise ApiError(400, "bucket_required", f"leaderboards by {dimension.value} need ?bucket= (e.g. {example})")
    bucket_value = (bucket or "") if dimension in BUCKETED else ""
    if dimension is Dimension.COUNTRY:
        bucket_value = bucket_value.upper()
    where = [sql.SQL("dimension = %(dimension)s"), sql.SQL("bucket = %(bucket)s")]
    params: dict[str, object] = {"dimension": dimension.value, "bucket": bucket_value, "limit": limit + 1}
    if platform is not None:
        where.append(sql.SQL("platform = %(platform)s"))
        params["platform"] = platform.value
    if cursor is not None:
        rank, cursor_platform, creator_id = decode_cursor(cursor, 3)
        if not isinstance(rank, int) or not isinstance(cursor_platform, str) or not isinstance(creator_id, str):
            raise ApiError(400, "invalid_cursor", "the cursor is not one this API handed out")
        where.append(sql.SQL("(rank, platform, creator_id) > (%(c_rank)s, %(c_platform)s, %(c_creator)s)"))
        params.update(c_rank=rank, c_platform=cursor_platform, c_creator=creator_id)
    query = sql.SQL(
        "SELECT rank, platform, creator_id, handle, display_name, score, followers, engagement_rate, growth_30d "
        "FROM {schema}.leaderboards WHERE {where} ORDER BY rank, platform, creator_id LIMIT %(limit)s"
    ).format(schema=schema, where=sql.SQL(" AND ").join(where))
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        rows = await cur.fetchall()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1]["rank"], rows[-1]["platform"], rows[-1]["creator_id"]])
    return LeaderboardPage(
        dimension=dimension,
        bucket=bucket_value,
        platform=platform,
        items=[LeaderboardEntry.model_validate(row) for row in rows],
        next_cursor=next_cursor,
    )
