"""Everything one gateway process holds, opened once: backends, verifier, issuer, limiter, cache, proxy.

``Gateway(settings)`` opens the backends named in the settings; ``barista up`` and tests hand in
backends they already opened (those are then not closed here).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack, suppress
from typing import Any

import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool
from redis.exceptions import RedisError

from barista_core.auth.bus import InvalidationBus
from barista_core.auth.keyring import load_signing_key
from barista_core.auth.tokens import TokenIssuer
from barista_core.auth.verifier import CredentialVerifier
from barista_core.backends import open_broker, open_postgres, open_redis
from barista_core.contracts.gateway import GatewaySettings
from barista_core.health import Health
from barista_core.logging import get_logger
from barista_core.ratelimit import LeasedRateLimiter, RateLimiter
from barista_core.usage import UsageCounter
from barista_gateway.edge.accesslog import AccessLog
from barista_gateway.edge.cache import ResponseCache
from barista_gateway.edge.metrics import GatewayMetrics
from barista_gateway.edge.proxy import Proxy, RouteTable
from barista_gateway.storage import TenantStores

log = get_logger(__name__)


class Gateway:
    def __init__(
        self,
        settings: GatewaySettings,
        *,
        postgres: AsyncConnectionPool | None = None,
        redis: aioredis.Redis | None = None,
        clickhouse: Any = None,
        broker: Any = None,
        access_log_fd: int = 2,
    ) -> None:
        self.settings = settings
        self.postgres = postgres
        self.redis = redis
        self.clickhouse = clickhouse
        self.broker = broker
        self.metrics = GatewayMetrics(_own_registry())
        self.access_log = AccessLog(fd=access_log_fd, enabled=settings.access_log)
        self.routes = RouteTable.from_settings(settings)
        self.proxy = Proxy(max_connections=settings.proxy_max_connections)
        self.health = Health()
        self.ingestor: Any = None
        self._stack = AsyncExitStack()
        self._background: set[asyncio.Task[None]] = set()
        self.started = False

    async def start(self) -> None:
        s = self.settings
        stack = self._stack
        if self.postgres is None:
            self.postgres = await open_postgres(s.postgres_url.get_secret_value(), max_size=20)
            stack.push_async_callback(self.postgres.close)
        if self.redis is None:
            self.redis = await open_redis(s.redis_url.get_secret_value(), max_connections=256)
            stack.push_async_callback(self.redis.aclose)
        prefix = s.redis_prefix
        self.bus = InvalidationBus(self.redis, prefix=prefix, postgres=self.postgres)
        self.verifier = CredentialVerifier(
            postgres=self.postgres,
            redis=self.redis,
            issuer=s.jwt_issuer,
            audience=s.jwt_audience,
            prefix=prefix,
            only_tenant=s.tenant,
            bus=self.bus,
        )
        self.issuer = TokenIssuer(
            postgres=self.postgres,
            redis=self.redis,
            issuer=s.jwt_issuer,
            audience=s.jwt_audience,
            ttl=s.token_ttl_seconds,
            prefix=prefix,
            bus=self.bus,
            signing_key=load_signing_key(s.jwt_signing_key.get_secret_value()) if s.jwt_signing_key else None,
            rotate_every=s.jwt_key_rotation_hours * 3600,
        )
        self.limiter = RateLimiter(self.redis, prefix=f"{prefix}ratelimit:")
        self.leases = LeasedRateLimiter(self.limiter)
        self.cache = ResponseCache(
            self.redis,
            prefix=prefix,
            max_bytes=s.cache_l1_max_bytes,
            max_entry_bytes=s.cache_max_entry_bytes,
            max_ttl=s.cache_max_ttl_seconds,
            l2=s.cache_l2,
            on_lookup=self.metrics.cache_lookup,
        )
        self.bus.subscribe(self._on_invalidate)
        self.stores = TenantStores(self.postgres, self.clickhouse, clickhouse_url=s.clickhouse_url.get_secret_value())
        self.usage = UsageCounter(self.redis, prefix=prefix)

        await self.verifier.start()
        stack.push_async_callback(self.verifier.close)
        await self.bus.start()
        stack.push_async_callback(self.bus.close)
        await self.issuer.start()
        stack.push_async_callback(self.issuer.close)
        await self.proxy.start()
        stack.push_async_callback(self.proxy.close)
        await self.usage.start()
        stack.push_async_callback(self.usage.close)
        stack.push_async_callback(self._release_leases)
        await self._start_events(stack)
        stack.callback(self.access_log.flush)
        stack.callback(self.metrics.unregister)

        self.health.add_check("postgres", self._check_postgres)
        self.health.add_check("redis", self.redis.ping)
        self.health.add_check("clickhouse", self._check_clickhouse)
        if self.broker is not None:
            self.health.add_check("broker", self._check_broker)
        self.started = True

    async def close(self) -> None:
        self.health.ready_gate = False
        await self._stack.aclose()
        self.started = False

    async def _start_events(self, stack: AsyncExitStack) -> None:
        from barista_core.events import EventAdmission, EventIngestor, EventLimits, EventPublisher

        if self.broker is None and self.settings.broker_url is not None:
            self.broker = await open_broker(self.settings.broker_url.get_secret_value())
            stack.push_async_callback(self.broker.close)
        if self.broker is None:
            return
        publisher = EventPublisher(self.broker)
        await publisher.start()
        stack.push_async_callback(publisher.close)
        self.ingestor = EventIngestor(
            publisher,
            limits=EventLimits(max_batch_bytes=self.settings.max_request_bytes),
            admission=EventAdmission(self.limiter),
            usage=self.usage,
        )

    async def _release_leases(self) -> None:
        with suppress(RedisError, OSError):
            await self.leases.release()

    def _on_invalidate(self, kind: str, value: str) -> None:
        if kind == "data":  # a serving table of the tenant changed (whoever wrote it)
            self.cache.drop_local(value)
            task = asyncio.get_running_loop().create_task(self._invalidate_shared(value))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        elif kind == "all":
            self.cache.drop_all_local()

    async def _invalidate_shared(self, tenant: str) -> None:
        try:
            await self.cache.invalidate(tenant)
        except (RedisError, OSError) as exc:
            log.warning("could not invalidate the shared cache", tenant=tenant, error=str(exc)[:200])

    async def _check_postgres(self) -> None:
        assert self.postgres is not None
        async with self.postgres.connection() as conn:
            await conn.execute("SELECT 1")

    async def _check_clickhouse(self) -> None:
        await self.stores.query_clickhouse("SELECT 1", {})

    async def _check_broker(self) -> None:
        from barista_core.naming import EVENTS_EXCHANGE

        await self.broker.declare_exchange(EVENTS_EXCHANGE)  # idempotent: proves the channel works


def _own_registry() -> Any:
    """Each gateway instance registers its metrics in a registry of its own (several live in tests)."""
    from prometheus_client import CollectorRegistry

    return CollectorRegistry(auto_describe=True)
