"""The backends outside the cluster the operator writes: the registry (PostgreSQL), tenant databases
(ClickHouse) and Sink queues (RabbitMQ or the in-process broker). Opened lazily, shared, and every
failure turned into :class:`BackendUnavailable` (transient: retried with backoff)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool

from barista_core.backends import open_broker, open_clickhouse, open_postgres
from barista_core.broker import Broker
from barista_core.errors import BaristaError
from barista_core.naming import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE
from barista_core.registry import ensure_registry
from barista_core.urls import mask_url
from barista_operator.settings import OperatorSettings

T = TypeVar("T")


class BackendUnavailable(Exception):
    """A backend could not be reached or refused a command; worth retrying."""

    def __init__(self, backend: str, message: str) -> None:
        self.backend = backend
        super().__init__(f"{backend}: {message}")


class Backends:
    def __init__(self, settings: OperatorSettings) -> None:
        self.settings = settings
        self._pool: AsyncConnectionPool | None = None
        self._clickhouse: Any = None
        self._broker: Broker | None = None
        self._locks = {name: asyncio.Lock() for name in ("registry", "clickhouse", "broker", "clickhouse-cmd")}

    def _url(self, field: str) -> str:
        value = getattr(self.settings, field)
        return value.get_secret_value() if value is not None else ""

    async def registry(self) -> AsyncConnectionPool:
        """The registry's connection pool, migrated on first use."""
        async with self._locks["registry"]:
            if self._pool is None:
                url = self._url("postgres_url")
                try:
                    pool = await open_postgres(
                        url,
                        min_size=1,
                        max_size=self.settings.registry_pool_size,
                        timeout=self.settings.backend_timeout_seconds,
                    )
                except BaristaError as exc:
                    raise BackendUnavailable("registry", str(exc)) from None
                try:
                    await ensure_registry(pool)
                except (psycopg.Error, OSError, BaristaError) as exc:
                    await pool.close()
                    raise BackendUnavailable("registry", f"{mask_url(url)}: migration failed: {exc}") from None
                self._pool = pool
            return self._pool

    async def with_registry(self, fn: Callable[[AsyncConnectionPool], Awaitable[T]]) -> T:
        pool = await self.registry()
        try:
            return await fn(pool)
        except (psycopg.OperationalError, psycopg.InterfaceError, OSError, TimeoutError) as exc:
            raise BackendUnavailable("registry", " ".join(str(exc).split())[:300]) from None

    async def clickhouse_command(self, sql: str) -> None:
        """Run one DDL statement (serialised: a clickhouse-connect client is not safe for concurrent use)."""
        async with self._locks["clickhouse"]:
            if self._clickhouse is None:
                try:
                    self._clickhouse = await asyncio.to_thread(open_clickhouse, self._url("clickhouse_url"))
                except BaristaError as exc:
                    raise BackendUnavailable("clickhouse", str(exc)) from None
        async with self._locks["clickhouse-cmd"]:
            try:
                await asyncio.to_thread(self._clickhouse.command, sql)
            except Exception as exc:  # clickhouse-connect/chdb raise several unrelated types
                raise BackendUnavailable("clickhouse", " ".join(str(exc).split())[:300]) from None

    async def broker(self) -> Broker:
        """The broker, with Barista's two exchanges declared."""
        async with self._locks["broker"]:
            if self._broker is None or getattr(self._broker, "_closed", False):
                try:
                    broker = await open_broker(self._url("broker_url"), timeout=self.settings.backend_timeout_seconds)
                    await broker.declare_exchange(EVENTS_EXCHANGE, kind="topic")
                    await broker.declare_exchange(DEAD_LETTER_EXCHANGE, kind="direct")
                except BaristaError as exc:
                    raise BackendUnavailable("broker", str(exc)) from None
                except Exception as exc:  # aio-pika/aiormq channel errors
                    raise BackendUnavailable("broker", " ".join(str(exc).split())[:300] or type(exc).__name__) from None
                self._broker = broker
            return self._broker

    async def with_broker(self, fn: Callable[[Broker], Awaitable[T]]) -> T:
        broker = await self.broker()
        try:
            return await fn(broker)
        except BackendUnavailable:
            raise
        except Exception as exc:  # the broker's transport errors vary by implementation
            raise BackendUnavailable("broker", " ".join(str(exc).split())[:300] or type(exc).__name__) from None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._broker is not None and not self._broker.url.startswith("memory:"):
            await self._broker.close()  # in-process brokers are shared by URL: leave them to their owner
        self._broker = None
