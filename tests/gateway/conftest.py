"""The gateway on the machine's PostgreSQL and Redis and on chdb, driven over HTTP.

``harness`` runs one gateway in-process (ASGI transport: fast); ``Harness.serve()`` puts it behind a
real HTTP server (barista_gateway.httpserver) when a test needs real sockets (streaming, timeouts).
Every test gets its own database and Redis prefix; tenants are created through the registry as the
operator would.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from barista_core import registry
from barista_core.auth.apikeys import ApiKey, generate_api_key
from barista_core.contracts.gateway import GatewaySettings
from barista_core.plans import Plan, effective_features, effective_limits
from barista_gateway.gateway import Gateway
from barista_gateway.httpserver import HttpServer
from barista_gateway.main import create_app


@dataclass
class TenantHandle:
    name: str
    key: ApiKey
    plan: Plan

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key.token}


@dataclass
class Harness:
    gateway: Gateway
    client: httpx.AsyncClient
    log_read_fd: int | None = None
    servers: list[HttpServer] = field(default_factory=list)

    @property
    def pool(self) -> Any:
        return self.gateway.postgres

    async def tenant(
        self, plan: Plan = Plan.PAID, *, name: str | None = None, limits: dict[str, int] | None = None
    ) -> TenantHandle:
        name = name or "t-" + uuid.uuid4().hex[:10]
        key = generate_api_key()
        await registry.upsert_tenant(
            self.pool,
            registry.TenantRecord(
                name=name,
                display_name=name.title(),
                plan=plan,
                limits=effective_limits(plan, limits),
                features=effective_features(plan),
            ),
            api_key=key,
        )
        return TenantHandle(name, key, plan)

    async def token(self, tenant: TenantHandle) -> str:
        response = await self.client.post("/v1/auth/token", headers=tenant.headers)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    async def schema(self, tenant: TenantHandle) -> str:
        await self.gateway.stores.schema(tenant.name)
        from barista_core.naming import tenant_schema

        return tenant_schema(tenant.name)

    async def settled(self, tenant: TenantHandle, before: int) -> None:
        """Wait until the invalidation that a write to serving tables announces has gone through."""
        deadline = time.monotonic() + 3
        while await self.generation(tenant) <= before:
            assert time.monotonic() < deadline, "the data change was never announced"
            await asyncio.sleep(0.005)

    async def generation(self, tenant: TenantHandle) -> int:
        assert self.gateway.redis is not None
        return int(await self.gateway.redis.get(self.gateway.cache._gen_key(tenant.name)) or 0)

    async def seed_profiles(self, tenant: TenantHandle, rows: list[dict[str, Any]]) -> None:
        schema = await self.schema(tenant)
        before = await self.generation(tenant)
        columns = [
            *("platform", "handle", "creator_id", "display_name", "bio", "category", "country", "language"),
            *("followers", "engagement_rate", "fake_follower_share", "followers_growth_30d", "verified"),
        ]
        async with self.pool.connection() as conn:
            for row in rows:
                values = [row.get(c) for c in columns]
                values[2] = values[2] or f"{row['platform']}:{row['handle']}"
                values[3] = values[3] or ""
                values[4] = values[4] or ""
                values[8] = values[8] or 0
                values[12] = bool(values[12])
                await conn.execute(
                    f"INSERT INTO {schema}.profiles ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                    values,
                )
        await self.settled(tenant, before)

    async def seed_leaderboard(self, tenant: TenantHandle, rows: list[dict[str, Any]]) -> None:
        schema = await self.schema(tenant)
        before = await self.generation(tenant)
        async with self.pool.connection() as conn:
            for row in rows:
                await conn.execute(
                    f"INSERT INTO {schema}.leaderboards (platform, dimension, bucket, creator_id, handle, display_name,"
                    " rank, score, followers) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (row["platform"], row["dimension"], row.get("bucket", ""), row["creator_id"], row["handle"],
                     row.get("display_name", ""), row["rank"], row["score"], row.get("followers", 0)),
                )  # fmt: skip
        await self.settled(tenant, before)

    async def seed_snapshots(self, tenant: TenantHandle, rows: list[tuple[str, str, datetime.datetime, int]]) -> None:
        database = await self.gateway.stores.database(tenant.name)
        data = [[p, h, t.replace(tzinfo=None), f, 0, 0, 0.01] for p, h, t, f in rows]
        await self.gateway.stores.insert_clickhouse(
            f"`{database}`.profile_snapshots",
            data,
            column_names=["platform", "handle", "observed_at", "followers", "following", "posts", "engagement_rate"],
        )

    async def serve(self, gateway: Gateway | None = None) -> str:
        """Serve ``gateway`` (default: this one) on a real socket; returns its base URL."""
        app = create_app(gateway=gateway or self.gateway, manage_lifespan=False)
        server = HttpServer(app, host="127.0.0.1", port=0, lifespan=False, graceful_timeout=5)
        await server.start()
        self.servers.append(server)
        port = server.bound_port
        return f"http://127.0.0.1:{port}"

    def log_lines(self) -> list[str]:
        """What the access log wrote so far."""
        assert self.log_read_fd is not None
        self.gateway.access_log.flush()
        chunks = []
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(self.log_read_fd, 65536):
                chunks.append(chunk)
        return b"".join(chunks).decode().splitlines()


def gateway_settings(pg_url: str, redis_url: str, chdb_url: str, prefix: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "postgres_url": pg_url,
        "redis_url": redis_url,
        "clickhouse_url": chdb_url,
        "redis_prefix": prefix,
        "access_log": True,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@contextlib.asynccontextmanager
async def running_gateway(
    settings: GatewaySettings, *, broker: Any = None, capture_log: bool = True
) -> AsyncIterator[Harness]:
    read_fd = write_fd = None
    if capture_log:
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
    gateway = Gateway(settings, broker=broker, access_log_fd=write_fd if write_fd is not None else 2)
    await gateway.start()
    app = create_app(gateway=gateway, manage_lifespan=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test")
    harness = Harness(gateway, client, read_fd)
    try:
        yield harness
    finally:
        for server in harness.servers:
            await server.shutdown()
        await client.aclose()
        await gateway.close()
        for fd in (read_fd, write_fd):
            if fd is not None:
                os.close(fd)


@pytest.fixture
def make_gateway(pg_url: str, redis_url: str, redis_prefix: str, chdb_url: str):
    """``async with make_gateway(**settings) as h``: another gateway (replica) on this test's backends."""

    def make(*, broker: Any = None, **overrides: Any) -> contextlib.AbstractAsyncContextManager[Harness]:
        return running_gateway(gateway_settings(pg_url, redis_url, chdb_url, redis_prefix, **overrides), broker=broker)

    return make


@pytest.fixture
async def harness(make_gateway) -> AsyncIterator[Harness]:
    async with make_gateway() as h:
        yield h


# ---- a real upstream for the reverse proxy --------------------------------------------------------------


@dataclass
class Upstream:
    url: str
    calls: dict[str, int] = field(default_factory=dict)
    seen: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    """An aiohttp server on 127.0.0.1 with endpoints that misbehave on request."""
    import hashlib

    from aiohttp import web

    state = Upstream(url="")

    def count(request: web.Request) -> int:
        state.calls[request.path] = state.calls.get(request.path, 0) + 1
        return state.calls[request.path]

    async def json_(request: web.Request) -> web.Response:
        n = count(request)
        delay = float(request.query.get("delay", "0"))
        if delay:
            await asyncio.sleep(delay)
        headers = {"Cache-Control": request.query["cc"]} if "cc" in request.query else {}
        if "vary" in request.query:
            headers["Vary"] = request.query["vary"]
        return web.json_response({"n": n, "path": request.path, "query": request.query_string,
                                  "tenant": request.headers.get("X-Barista-Tenant")}, headers=headers)  # fmt: skip

    async def echo(request: web.Request) -> web.Response:
        count(request)
        body = await request.read()
        seen = {"method": request.method, "path": request.path_qs, "headers": dict(request.headers),
                "length": len(body), "sha256": hashlib.sha256(body).hexdigest()}  # fmt: skip
        state.seen.append(seen)
        return web.json_response(seen)

    async def stream(request: web.Request) -> web.StreamResponse:
        count(request)
        chunks, delay = int(request.query.get("chunks", "3")), float(request.query.get("delay", "0.2"))
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i in range(chunks):
            await response.write(f"chunk {i} at {time.monotonic():.6f}\n".encode())
            await asyncio.sleep(delay)
        await response.write_eof()
        return response

    async def big(request: web.Request) -> web.StreamResponse:
        count(request)
        size = int(request.query.get("size", str(2 * 1024 * 1024)))
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = size
        await response.prepare(request)
        block = bytes(range(256)) * 256
        sent = 0
        while sent < size:
            part = block[: min(len(block), size - sent)]
            await response.write(part)
            sent += len(part)
        await response.write_eof()
        return response

    async def status(request: web.Request) -> web.Response:
        count(request)
        return web.json_response({"status": int(request.match_info["code"])}, status=int(request.match_info["code"]))

    async def flaky(request: web.Request) -> web.Response:
        n = count(request)
        if n <= int(request.query.get("fail", "1")):
            assert request.transport is not None
            request.transport.close()  # drop the connection without an answer
            await asyncio.sleep(0.05)
        return web.json_response({"attempt": n})

    async def hop(request: web.Request) -> web.Response:
        count(request)
        return web.Response(
            text="ok",
            headers={"Connection": "X-Private-Hop", "X-Private-Hop": "secret", "Keep-Alive": "timeout=5",
                     "Proxy-Authenticate": "Basic", "X-Kept": "yes", "X-Request-ID": "upstream-id"},
        )  # fmt: skip

    async def broken(request: web.Request) -> web.StreamResponse:
        count(request)
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.content_length = 100_000_000
        await response.prepare(request)
        await response.write(b"x" * 300_000)
        assert request.transport is not None
        request.transport.close()
        return response

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/json", json_)
    app.router.add_get("/cached/json", json_)
    app.router.add_route("*", "/echo", echo)
    app.router.add_route("*", "/echo/{tail:.*}", echo)
    app.router.add_get("/stream", stream)
    app.router.add_get("/big", big)
    app.router.add_get("/status/{code}", status)
    app.router.add_route("*", "/flaky", flaky)
    app.router.add_get("/hop", hop)
    app.router.add_get("/broken", broken)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
