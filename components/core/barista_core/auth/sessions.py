"""Sessions in Redis: one key per issued token, ``<prefix>session:<id>``, living as long as the token.

A token verifies only while its session key exists. Logout deletes the key and announces
``session:<id>`` on the invalidation bus so every replica drops its cached verification at once.
"""

from __future__ import annotations

import secrets
import time

import redis.asyncio as aioredis


class SessionStore:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "barista:") -> None:
        self.redis = redis
        self.prefix = prefix

    def key(self, session_id: str) -> str:
        return f"{self.prefix}session:{session_id}"

    def tenant_index(self, tenant: str) -> str:
        return f"{self.prefix}sessions:{tenant}"

    async def create(self, *, tenant: str, key_id: str | None, ttl: float) -> str:
        """A new session for ``tenant`` that lapses after ``ttl`` seconds; returns its id."""
        session_id = secrets.token_urlsafe(18)
        ttl_ms = max(1, int(ttl * 1000))
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key(session_id), mapping={"tenant": tenant, "key_id": key_id or "", "created_at": now})
            pipe.pexpire(self.key(session_id), ttl_ms)
            pipe.zadd(self.tenant_index(tenant), {session_id: now + ttl})
            pipe.zremrangebyscore(self.tenant_index(tenant), "-inf", now)
            pipe.pexpire(self.tenant_index(tenant), ttl_ms)
            await pipe.execute()
        return session_id

    async def exists(self, session_id: str) -> bool:
        return bool(await self.redis.exists(self.key(session_id)))

    async def revoke(self, session_id: str) -> bool:
        """Delete the session; True when it existed."""
        return bool(await self.redis.delete(self.key(session_id)))

    async def revoke_tenant(self, tenant: str) -> list[str]:
        """Delete every live session of ``tenant``; returns their ids."""
        ids = [
            s.decode() if isinstance(s, bytes) else s for s in await self.redis.zrange(self.tenant_index(tenant), 0, -1)
        ]
        if ids:
            await self.redis.delete(*(self.key(i) for i in ids), self.tenant_index(tenant))
        return ids
