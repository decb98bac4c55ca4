"""Shared set-up for the worker tests.

Third-party APIs (Instagram, YouTube, Shopify, any JSON API) are stood in for by a local aiohttp
server (:class:`Upstream`) answering scripted replies and recording every request with its arrival
time and how many were in flight. Everything of ours is real: the worker, the distributed rate limiter
on the machine's Redis (keys under the test's ``redis_prefix``), the event path and a broker — the
in-process one where events are not the subject, RabbitMQ (own vhost) where they are.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web

from barista_core.backends import open_broker
from barista_core.broker import Broker
from barista_core.contracts import WorkerSettings
from barista_core.events import EventIngestor, EventPublisher
from barista_worker.fetch import RetryPolicy
from barista_worker.worker import Worker

FIXTURES = Path(__file__).parent / "fixtures"
#: Fast retries for tests: the shapes of production backoff, a hundredth of the waits.
FAST_RETRY = RetryPolicy(max_attempts=4, initial_backoff=0.05, max_backoff=0.4, max_retry_after=5.0)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass(frozen=True)
class Reply:
    status: int = 200
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    text: str | None = None


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    at: float  # time.monotonic() on arrival


class Upstream:
    """A local HTTP server standing in for a third-party API. ``route(path, *replies)`` scripts the
    replies of a path in order (the last one repeats); unknown paths answer 404."""

    def __init__(self) -> None:
        self.url = ""
        self.hits: list[Hit] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._routes: dict[str, list[Reply]] = {}
        self._served: dict[str, int] = {}
        self._handlers: dict[str, Callable[[Hit], Reply]] = {}
        #: Awaited before every reply (after the hit is recorded), e.g. to hold answers until a condition.
        self.before: Callable[[Hit], Awaitable[None]] | None = None
        self.runner: web.AppRunner | None = None

    def route(self, path: str, *replies: Reply) -> None:
        self._routes[path] = list(replies)
        self._served[path] = 0

    def route_fn(self, path_prefix: str, handler: Callable[[Hit], Reply]) -> None:
        """Reply to every path under ``path_prefix`` with ``handler(hit)``."""
        self._handlers[path_prefix] = handler

    def hits_for(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    async def _handle(self, request: web.Request) -> web.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        hit = Hit(request.method, request.path, dict(request.query), headers, time.monotonic())
        self.hits.append(hit)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.before is not None:
                await self.before(hit)
            reply = self._reply(hit)
            if reply.delay:
                await asyncio.sleep(reply.delay)
        finally:
            self.in_flight -= 1
        if reply.text is not None:
            return web.Response(status=reply.status, text=reply.text, headers=reply.headers, content_type="text/html")
        return web.json_response(reply.json, status=reply.status, headers=reply.headers)

    def _reply(self, hit: Hit) -> Reply:
        replies = self._routes.get(hit.path)
        if replies is not None:
            served = self._served[hit.path]
            self._served[hit.path] = served + 1
            return replies[min(served, len(replies) - 1)]
        for prefix, handler in self._handlers.items():
            if hit.path.startswith(prefix):
                return handler(hit)
        return Reply(404, {"error": f"no route {hit.path}"})

    async def start(self) -> Upstream:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    server = await Upstream().start()
    yield server
    await server.close()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def memory_broker() -> AsyncIterator[Broker]:
    broker = await open_broker(f"memory://worker-test-{uuid.uuid4().hex[:8]}")
    yield broker
    await broker.close()


def tenant_name() -> str:
    return "t-" + uuid.uuid4().hex[:10]


def settings(redis_url: str, redis_prefix: str, **values: Any) -> WorkerSettings:
    """Worker settings for a test: a fresh tenant, an interval schedule, the test's Redis prefix."""
    base: dict[str, Any] = {
        "tenant": tenant_name(),
        "flow_name": "flow",
        "interval_seconds": 60,
        "broker_url": "memory://unused",
        "redis_url": redis_url,
        "redis_key_prefix": redis_prefix,
        "concurrency": 4,
    }
    return WorkerSettings.model_validate(base | values)


@pytest.fixture
async def make_worker(
    redis_url: str, redis_prefix: str, redis_client: aioredis.Redis, memory_broker: Broker
) -> AsyncIterator[Callable[..., Any]]:
    """``await make_worker(**settings)`` → a real :class:`Worker` on Redis and the in-process broker
    (or ``broker=``), with fast retries."""
    made: list[Worker] = []

    async def make(*, broker: Broker | None = None, retry: RetryPolicy = FAST_RETRY, **values: Any) -> Worker:
        publisher = EventPublisher(broker or memory_broker)
        await publisher.start()
        worker = Worker(
            settings(redis_url, redis_prefix, **values),
            redis=redis_client,
            ingestor=EventIngestor(publisher),
            retry=retry,
        )
        made.append(worker)
        return worker

    yield make
    for worker in made:
        await worker.close()
