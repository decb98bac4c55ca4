"""The contract between ``barista up`` and the components it runs in one process.

A component offers a :class:`Service`; the CLI lists them in ``barista.services``. Components never
import the CLI: they receive the opened embedded backends as a :class:`DataPlane`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from barista_core.broker import Broker


@dataclass
class DataPlane:
    """The embedded backends, opened, and where they live. Services add their endpoints."""

    data_dir: Path
    clickhouse_url: str
    postgres_url: str
    redis_url: str
    broker_url: str
    clickhouse: Any = None  # clickhouse_connect Client (chdb)
    postgres: Any = None  # psycopg_pool.AsyncConnectionPool
    redis: Any = None  # redis.asyncio.Redis
    broker: Broker | None = None
    #: (name, where) lines printed once everything is up, e.g. ("gateway", "http://127.0.0.1:8080").
    endpoints: list[tuple[str, str]] = field(default_factory=list)
    #: Values services share with each other in-process (e.g. the demo tenant's API key).
    shared: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    """A component inside ``barista up``. ``start`` lives as long as ``barista up`` runs."""

    name: str
    start: Callable[[DataPlane], AbstractAsyncContextManager[None]]
    #: Optional demo run after everything started; returns lines to print.
    demo: Callable[[DataPlane], Awaitable[list[str]]] | None = None
    #: Services start in ascending order (backends-facing ones first), stop in reverse.
    order: int = 100
