"""Shared set-up for the ingest tests: a real ingest gRPC server on the machine's RabbitMQ (own vhost),
PostgreSQL (own database: the tenant registry) and Redis (own key prefix), sinkers writing to chdb.

One world per test module (the server and its connections are reused); every test makes its own
tenants, so their queues, ClickHouse databases and rate-limit buckets never meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import grpc
import orjson
import psycopg
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from barista_core import registry
from barista_core.auth.apikeys import ApiKey, generate_api_key
from barista_core.auth.verifier import CredentialVerifier
from barista_core.backends import open_clickhouse, open_postgres
from barista_core.broker import Broker
from barista_core.contracts import IngestSettings, SinkerSettings
from barista_core.naming import sink_queue, tenant_database
from barista_core.plans import Plan, effective_limits, plan_spec
from barista_core.proto import events_pb2, events_pb2_grpc
from barista_ingest.app import RunningIngest, RunningSinker, connect_broker, start_ingest, start_sinker
from tests.ingest.httpreceiver import Receiver, running_receiver

AMQP_BASE = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class Tenant:
    name: str
    key: ApiKey

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("x-api-key", self.key.token),)

    @property
    def database(self) -> str:
        return tenant_database(self.name)


@dataclass
class World:
    pool: Any
    redis: aioredis.Redis
    prefix: str
    verifier: CredentialVerifier
    broker: Broker
    amqp_url: str
    ingest: RunningIngest
    channel: grpc.aio.Channel
    stub: events_pb2_grpc.EventServiceStub
    chdb_url: str
    sinkers: list[RunningSinker] = field(default_factory=list)
    tenants: list[Tenant] = field(default_factory=list)
    queues: set[str] = field(default_factory=set)
    databases: set[str] = field(default_factory=set)

    @property
    def clickhouse(self) -> Any:
        return open_clickhouse(self.chdb_url)

    async def tenant(self, plan: Plan = Plan.PAID, *, events_per_second: int | None = None) -> Tenant:
        name = "t-" + uuid.uuid4().hex[:12]
        if events_per_second is None and plan == Plan.PAID:
            events_per_second = 10_000_000  # PAID limits are uncapped: "no limit" for tests that are not about it
        limits = effective_limits(plan, {"eventsPerSecond": events_per_second} if events_per_second else None)
        key = generate_api_key()
        await registry.upsert_tenant(
            self.pool,
            registry.TenantRecord(
                name=name, display_name=name, plan=plan, limits=limits, features=plan_spec(plan).features
            ),
            api_key=key,
        )
        tenant = Tenant(name, key)
        self.tenants.append(tenant)
        return tenant

    def sinker_settings(self, tenant: Tenant, sink: str = "main", **values: Any) -> SinkerSettings:
        base: dict[str, Any] = {
            "tenant": tenant.name,
            "sink_name": sink,
            "queue": sink_queue(tenant.name, sink),
            "broker_url": self.amqp_url,
            "destination": "clickhouse",
            "clickhouse_url": self.chdb_url,
            "batch_max_delay_ms": 50,
            "delivery_initial_backoff_ms": 20,
            "delivery_max_backoff_ms": 200,
        }
        base.update(values)
        return SinkerSettings.model_validate(base)

    async def sinker(self, tenant: Tenant, sink: str = "main", **values: Any) -> RunningSinker:
        settings = self.sinker_settings(tenant, sink, **values)
        self.queues.update((settings.queue, sink_queue(tenant.name, sink) + ".dead"))
        self.databases.add(tenant.database)
        running = await start_sinker(settings, broker=self.broker, clickhouse=self.clickhouse)
        self.sinkers.append(running)
        return running

    async def publish(
        self, tenant: Tenant, events: Sequence[events_pb2.Event], *, batch_id: str = ""
    ) -> events_pb2.PublishResponse:
        return await self.stub.Publish(
            events_pb2.EventBatch(events=events, batch_id=batch_id), metadata=tenant.metadata, timeout=30
        )

    def query(self, sql: str, **parameters: Any) -> list[tuple[Any, ...]]:
        return self.clickhouse.query(sql, parameters=parameters).result_rows

    async def wait_rows(self, tenant: Tenant, expected: int, *, timeout: float = 20.0, final: bool = True) -> int:
        """Poll the tenant's events table until it holds ``expected`` rows; return the count."""
        deadline = time.monotonic() + timeout
        table = f"`{tenant.database}`.events{' FINAL' if final else ''}"
        count = -1
        while time.monotonic() < deadline:
            try:
                count = self.query(f"SELECT count() FROM {table}")[0][0]
            except Exception:  # the table is created by the sinker's migrations
                count = -1
            if count >= expected:
                return count
            await asyncio.sleep(0.05)
        return count


def event(
    type: str = "page.viewed",
    *,
    id: str | None = None,
    properties: dict[str, Any] | None = None,
    occurred_ms: int | None = None,
    user_id: str = "user-1",
    json_properties: bool = False,
) -> events_pb2.Event:
    """A valid event of ``type`` (page.viewed needs ``path``)."""
    e = events_pb2.Event(id=id or str(uuid.uuid4()), type=type, user_id=user_id)
    e.occurred_at.FromMilliseconds(occurred_ms if occurred_ms is not None else int(time.time() * 1000))
    props = {"path": "/home"} if properties is None else properties
    if json_properties:
        e.properties_json = orjson.dumps(props)
    elif props:
        e.properties.update(props)
    return e


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as state:
        yield state


@pytest.fixture(scope="module")
def module_pg_url(postgres_server_url: str) -> Iterator[str]:
    name = "barista_ingest_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres_server_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(module_pg_url: str, amqp_vhost: str, chdb_url: str) -> AsyncIterator[World]:
    amqp_url = AMQP_BASE.rstrip("/") + "/" + quote(amqp_vhost, safe="")
    prefix = "barista-test-ingest-" + uuid.uuid4().hex[:10] + ":"
    pool = await open_postgres(module_pg_url)
    redis = aioredis.from_url("redis://127.0.0.1:6379/0")
    verifier = CredentialVerifier(postgres=pool, redis=redis, prefix=prefix)
    await verifier.start()
    broker = await connect_broker(amqp_url, publish_timeout=5.0)
    settings = IngestSettings.model_validate(
        {"broker_url": amqp_url, "redis_url": "redis://127.0.0.1:6379/0", "postgres_url": module_pg_url}
    )
    ingest = await start_ingest(
        settings, broker=broker, authenticator=verifier, redis=redis, port=0, host="127.0.0.1",
        redis_prefix=prefix,
    )  # fmt: skip
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{ingest.port}")
    world = World(
        pool, redis, prefix, verifier, broker, amqp_url, ingest, channel, events_pb2_grpc.EventServiceStub(channel),
        chdb_url,
    )  # fmt: skip
    try:
        yield world
    finally:
        for running in world.sinkers:
            await running.stop(grace=5)
        await channel.close()
        await ingest.stop(grace=1)
        for queue in world.queues:
            with contextlib.suppress(Exception):  # best effort; the vhost goes at the end of the session
                await broker.delete_queue(queue)
        for database in world.databases:
            world.clickhouse.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
        await broker.close()
        await verifier.close()
        keys = [k async for k in redis.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await pool.close()
