"""Collections (watchlists) of creators, per tenant, in the tenant's schema."""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from barista_gateway.api.errors import ApiError, not_found
from barista_gateway.models import (
    CollectionCreate,
    CollectionDetail,
    CollectionItemCreate,
    CollectionItemPublic,
    CollectionPublic,
    CollectionUpdate,
    ProfilePublic,
)
from barista_gateway.services.profiles import COLUMNS

MAX_COLLECTIONS = 500
MAX_ITEMS = 5_000

_SELECT = """
SELECT c.id, c.name, c.description, c.created_at, c.updated_at,
       (SELECT count(*) FROM {schema}.collection_items i WHERE i.collection_id = c.id) AS size
FROM {schema}.collections c
"""


async def list_collections(pool: AsyncConnectionPool, *, schema: sql.Identifier) -> list[CollectionPublic]:
    query = sql.SQL(_SELECT + " ORDER BY c.created_at, c.id").format(schema=schema)
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query)
        return [CollectionPublic.model_validate(row) for row in await cur.fetchall()]


async def get_collection(
    pool: AsyncConnectionPool, *, schema: sql.Identifier, collection_id: uuid.UUID
) -> CollectionDetail:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.SQL(_SELECT + " WHERE c.id = %s").format(schema=schema), (collection_id,))
        row = await cur.fetchone()
        if row is None:
            raise not_found("collection")
        await cur.execute(
            sql.SQL(
                "SELECT i.platform AS item_platform, i.handle AS item_handle, i.note, i.added_at, p.* "
                "FROM {schema}.collection_items i LEFT JOIN (SELECT {columns} FROM {schema}.profiles) p "
                "ON p.platform = i.platform AND p.handle = i.handle "
                "WHERE i.collection_id = %s ORDER BY i.added_at, i.platform, i.handle"
            ).format(schema=schema, columns=COLUMNS),
            (collection_id,),
        )
        items = [
            CollectionItemPublic(
                platform=item["item_platform"],
                handle=item["item_handle"],
                note=item["note"],
                added_at=item["added_at"],
                profile=ProfilePublic.model_validate(item) if item["creator_id"] is not None else None,
            )
            for item in await cur.fetchall()
        ]
    return CollectionDetail(**row, items=items)


async def create_collection(
    pool: AsyncConnectionPool, *, schema: sql.Identifier, data: CollectionCreate
) -> CollectionPublic:
    async with pool.connection() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.SQL("SELECT count(*) AS n FROM {schema}.collections").format(schema=schema))
        if (await cur.fetchone())["n"] >= MAX_COLLECTIONS:  # type: ignore[index]
            raise ApiError(409, "too_many_collections", f"a tenant may keep at most {MAX_COLLECTIONS} collections")
        try:
            await cur.execute(
                sql.SQL(
                    "INSERT INTO {schema}.collections (name, description) VALUES (%s, %s) "
                    "RETURNING id, name, description, created_at, updated_at, 0 AS size"
                ).format(schema=schema),
                (data.name, data.description),
            )
        except psycopg.errors.UniqueViolation:
            raise ApiError(409, "collection_exists", f"a collection named {data.name!r} exists already") from None
        return CollectionPublic.model_validate(await cur.fetchone())


async def update_collection(
    pool: AsyncConnectionPool, *, schema: sql.Identifier, collection_id: uuid.UUID, data: CollectionUpdate
) -> CollectionPublic:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    sets = [sql.SQL("{} = %({})s").format(sql.Identifier(k), sql.SQL(k)) for k in sorted(changes)]
    sets.append(sql.SQL("updated_at = now()"))
    try:
        async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                sql.SQL("UPDATE {schema}.collections SET {sets} WHERE id = %(id)s RETURNING id").format(
                    schema=schema, sets=sql.SQL(", ").join(sets)
                ),
                {**changes, "id": collection_id},
            )
            if await cur.fetchone() is None:
                raise not_found("collection")
    except psycopg.errors.UniqueViolation:
        raise ApiError(409, "collection_exists", f"a collection named {changes.get('name')!r} exists already") from None
    detail = await get_collection(pool, schema=schema, collection_id=collection_id)
    return CollectionPublic.model_validate(detail.model_dump(exclude={"items"}))


async def delete_collection(pool: AsyncConnectionPool, *, schema: sql.Identifier, collection_id: uuid.UUID) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            sql.SQL("DELETE FROM {schema}.collections WHERE id = %s").format(schema=schema), (collection_id,)
        )
        if cur.rowcount == 0:
            raise not_found("collection")


async def add_item(
    pool: AsyncConnectionPool, *, schema: sql.Identifier, collection_id: uuid.UUID, item: CollectionItemCreate
) -> None:
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(  # lock the collection row: concurrent adds count one at a time
            sql.SQL(
                "SELECT (SELECT count(*) FROM {schema}.collection_items WHERE collection_id = c.id) "
                "FROM {schema}.collections c WHERE c.id = %s FOR UPDATE"
            ).format(schema=schema),
            (collection_id,),
        )
        row = await cur.fetchone()
        if row is None:
            raise not_found("collection")
        if row[0] >= MAX_ITEMS:
            raise ApiError(409, "collection_full", f"a collection holds at most {MAX_ITEMS} profiles")
        await conn.execute(
            sql.SQL(
                "INSERT INTO {schema}.collection_items (collection_id, platform, handle, note) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (collection_id, platform, handle) DO UPDATE SET note = EXCLUDED.note"
            ).format(schema=schema),
            (collection_id, item.platform.value, item.handle, item.note),
        )
        await conn.execute(
            sql.SQL("UPDATE {schema}.collections SET updated_at = now() WHERE id = %s").format(schema=schema),
            (collection_id,),
        )


async def remove_item(
    pool: AsyncConnectionPool, *, schema: sql.Identifier, collection_id: uuid.UUID, platform: str, handle: str
) -> None:
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            sql.SQL(
                "DELETE FROM {schema}.collection_items WHERE collection_id = %s AND platform = %s AND handle = %s"
            ).format(schema=schema),
            (collection_id, platform, handle),
        )
        if cur.rowcount == 0:
            raise not_found("collection_item")
        await conn.execute(
            sql.SQL("UPDATE {schema}.collections SET updated_at = now() WHERE id = %s").format(schema=schema),
            (collection_id,),
        )
