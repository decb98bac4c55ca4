"""Everything the reconcilers share in one operator process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from barista_operator.builders.common import Images, Platform
from barista_operator.kube import KubeClient
from barista_operator.reconcile.backends import Backends
from barista_operator.reconcile.directory import FollowedDirectory, TenantDirectory, WorkloadDirectory
from barista_operator.settings import OperatorSettings


def platform_from_settings(settings: OperatorSettings) -> Platform:
    return Platform(
        namespace=settings.platform_namespace,
        allowed_namespaces=tuple(settings.network_allowed_namespaces),
        internet_egress=settings.network_allow_internet_egress,
        images=Images(
            ingest=settings.image("ingest"),
            worker=settings.image("worker"),
            gateway=settings.image("gateway"),
            scoring=settings.image("scoring"),
            pull_policy=settings.image_pull_policy,
        ),
    )


def backend_urls(settings: OperatorSettings) -> tuple[tuple[str, str], ...]:
    """(backend, URL) pairs copied into each tenant's backends Secret."""
    pairs = []
    for backend, value in (
        ("postgres", settings.postgres_url),
        ("clickhouse", settings.clickhouse_url),
        ("broker", settings.broker_url),
        ("redis", settings.redis_url),
    ):
        if value is not None:
            pairs.append((backend, value.get_secret_value()))
    return tuple(pairs)


@dataclass
class Runtime:
    settings: OperatorSettings
    kube: KubeClient
    backends: Backends
    platform: Platform
    tenants: TenantDirectory = field(default_factory=TenantDirectory)
    workloads: WorkloadDirectory = field(default_factory=WorkloadDirectory)
    followed: FollowedDirectory = field(default_factory=FollowedDirectory)
    closed: bool = False
    _wakes: set[asyncio.Event] = field(default_factory=set)

    @classmethod
    def from_settings(cls, settings: OperatorSettings) -> Runtime:
        return cls(
            settings=settings,
            kube=KubeClient(concurrency=settings.api_concurrency),
            backends=Backends(settings),
            platform=platform_from_settings(settings),
        )

    def backoff(self, retry: int) -> float:
        return min(self.settings.retry_seconds * 2 ** min(retry, 16), self.settings.max_retry_seconds)

    @contextlib.contextmanager
    def wakes_on_close(self, event: asyncio.Event) -> Iterator[None]:
        """Set ``event`` when the operator shuts down (daemons then exit instead of waiting)."""
        self._wakes.add(event)
        try:
            yield
        finally:
            self._wakes.discard(event)

    async def close(self) -> None:
        self.closed = True
        for event in list(self._wakes):
            event.set()
        await self.kube.close()
        await self.backends.close()
