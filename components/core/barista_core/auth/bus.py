"""The invalidation bus: one Redis pub/sub channel telling every replica which cached entries to drop.

Messages are ``<kind>:<value>`` strings on channel ``<prefix>invalidate``:

- ``tenant:<name>`` — the tenant's registry row or API keys changed (plan, limits, features, state);
- ``data:<name>`` — the tenant's serving data changed (gateway response cache);
- ``session:<id>`` — a session was revoked (logout);
- ``keys:`` — the published signing keys changed;
- ``all:`` — drop everything (sent to local handlers after a (re)subscribe, since messages
  published while disconnected are lost).

The registry and the serving tables announce changes with PostgreSQL ``NOTIFY`` (channels
``barista_registry`` and ``barista_tenant_data``, payload = tenant name). With ``bridge=True`` the
bus LISTENs to those channels and republishes them on Redis, so a change made anywhere reaches
every replica of every component that caches. Several bridges publishing the same message is
harmless: dropping a cache entry is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import psycopg
import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool
from redis.exceptions import RedisError

from barista_core.logging import get_logger

log = get_logger(__name__)

REGISTRY_CHANNEL = "barista_registry"
TENANT_DATA_CHANNEL = "barista_tenant_data"
_PG_KINDS = {REGISTRY_CHANNEL: "tenant", TENANT_DATA_CHANNEL: "data"}

Handler = Callable[[str, str], None]


class InvalidationBus:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = "barista:",
        postgres: AsyncConnectionPool | None = None,
        bridge: bool = True,
        reconnect_delay: float = 1.0,
    ) -> None:
        self.redis = redis
        self.channel = f"{prefix}invalidate"
        self.postgres = postgres
        self.bridge = bridge and postgres is not None
        self.reconnect_delay = reconnect_delay
        self._handlers: list[Handler] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self._listening = asyncio.Event()
        self._stopping = False
        self.connected = False

    def subscribe(self, handler: Handler) -> None:
        """Call ``handler(kind, value)`` for every message (from the bus task; keep it quick and sync)."""
        self._handlers.append(handler)

    async def publish(self, kind: str, value: str = "") -> None:
        """Tell every replica (including this one, via Redis) to drop ``kind:value``."""
        await self.redis.publish(self.channel, f"{kind}:{value}")

    def deliver_locally(self, kind: str, value: str = "") -> None:
        """Run the handlers of this process now (used before publishing, so this replica is exact at once)."""
        for handler in self._handlers:
            try:
                handler(kind, value)
            except Exception:  # a broken handler must not stop the others
                log.exception("invalidation handler failed", kind=kind)

    async def start(self, *, wait: float = 5.0) -> None:
        self._tasks.append(asyncio.create_task(self._subscriber(), name="barista-invalidation-subscriber"))
        if self.bridge:
            self._tasks.append(asyncio.create_task(self._pg_bridge(), name="barista-invalidation-bridge"))
        waits = [self._subscribed.wait()] + ([self._listening.wait()] if self.bridge else [])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waits), wait)

    async def close(self) -> None:
        # The loops also watch this flag: on Python 3.11 a cancellation can be lost inside
        # asyncio.wait_for (which psycopg's waits use), so cancel() alone may not end them.
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            for task in pending:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks.clear()
        self.connected = False

    async def _subscriber(self) -> None:
        while not self._stopping:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.connected = True
                self._subscribed.set()
                # whatever was published while we were not listening is lost: start clean
                self.deliver_locally("all", "")
                while not self._stopping:
                    message: dict[str, Any] | None = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    data = message["data"]
                    text = data.decode() if isinstance(data, bytes) else str(data)
                    kind, _, value = text.partition(":")
                    self.deliver_locally(kind, value)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self.connected = False
                log.warning("invalidation bus disconnected; reconnecting", error=str(exc)[:200])
                await asyncio.sleep(self.reconnect_delay)
            finally:
                self.connected = False
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _pg_bridge(self) -> None:
        assert self.postgres is not None
        conninfo = self.postgres.conninfo
        while not self._stopping:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    for channel in _PG_KINDS:
                        await conn.execute(f"LISTEN {channel}")
                    if self._listening.is_set():  # a reconnect: notifications may have been missed
                        await self.publish("all")
                    self._listening.set()
                    while not self._stopping:  # notifies() returns every second so the flag is seen
                        async for notify in conn.notifies(timeout=1.0):
                            await self.publish(_PG_KINDS.get(notify.channel, "all"), notify.payload)
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, RedisError, OSError) as exc:
                log.warning("registry notification bridge disconnected; reconnecting", error=str(exc)[:200])
                await asyncio.sleep(self.reconnect_delay)
