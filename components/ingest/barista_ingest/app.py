"""Assembling and running the two modes of the ingest image: the gRPC server and a sinker.

:func:`start_ingest` / :func:`start_sinker` build everything from already-opened backends (so
``barista up`` can hand over its embedded ones); :func:`serve` and :func:`sink` own a process's
lifecycle: open backends from settings, start, wait for SIGTERM/SIGINT, drain, close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from barista_core.auth.verifier import CredentialVerifier
from barista_core.backends import open_broker, open_clickhouse, open_postgres, open_redis
from barista_core.broker import Broker
from barista_core.contracts import IngestSettings, SinkerSettings
from barista_core.events import EventAdmission, EventIngestor, EventLimits, EventPublisher, declare_sink_topology
from barista_core.events.topology import sink_topology
from barista_core.health import Health, serve_probes, stop_on_signals
from barista_core.logging import configure_logging, get_logger
from barista_core.naming import EVENTS_EXCHANGE, tenant_database
from barista_core.ratelimit import RateLimiter
from barista_core.urls import scheme_of
from barista_core.usage import UsageCounter
from barista_ingest.server import Authenticator, EventService, GrpcServer, start_grpc_server
from barista_ingest.sink.clickhouse import ClickHouseWriter
from barista_ingest.sink.deadletter import DeadLetterer
from barista_ingest.sink.model import BatchWriter, DeliveryPolicy
from barista_ingest.sink.sinker import BatchPolicy, Sinker, watch_queue_depth
from barista_ingest.sink.webhook import WebhookWriter

log = get_logger(__name__)


async def connect_broker(url: str, *, publish_timeout: float = 10.0) -> Broker:
    """A broker for ``url``; RabbitMQ connections get ``publish_timeout`` for confirms."""
    if scheme_of(url) in ("amqp", "amqps"):
        from barista_core.broker.amqp import AmqpBroker

        return await AmqpBroker.connect(url, publish_timeout=publish_timeout)
    return await open_broker(url)


# ---- the gRPC server ---------------------------------------------------------------------------------


@dataclass
class RunningIngest:
    grpc: GrpcServer
    publisher: EventPublisher
    ingestor: EventIngestor
    admission: EventAdmission | None

    @property
    def port(self) -> int:
        return self.grpc.port

    async def stop(self, grace: float) -> None:
        """Drain: NOT_SERVING, finish in-flight calls (up to ``grace`` s), flush publishes, return tokens."""
        await self.grpc.drain(grace)
        await self.publisher.close()
        if self.ingestor.usage is not None:
            await self.ingestor.usage.close()  # flushes what is counted
        if self.admission is not None:
            try:
                await self.admission.release()
            except Exception as exc:  # returning unused tokens is a courtesy
                log.warning("could not return unused rate-limit tokens", error=str(exc))


async def start_ingest(
    settings: IngestSettings,
    *,
    broker: Broker,
    authenticator: Authenticator,
    redis: Any | None,
    port: int | None = None,
    host: str | None = None,
    redis_prefix: str | None = None,
) -> RunningIngest:
    """Start the EventService on opened backends (``redis=None`` disables the events/s limit and usage
    counting). Redis keys go under ``redis_prefix`` (default: the settings'), shared with the gateway."""
    prefix = settings.redis_prefix if redis_prefix is None else redis_prefix
    publisher = EventPublisher(
        broker,
        timeout=settings.publish_timeout_seconds,
        max_inflight=settings.publish_max_inflight,
        linger=settings.publish_linger_ms / 1000,
    )
    await publisher.start()
    admission = EventAdmission(RateLimiter(redis, prefix=f"{prefix}ratelimit:")) if redis is not None else None
    usage = UsageCounter(redis, prefix=prefix) if redis is not None else None
    if usage is not None:
        await usage.start()
    ingestor = EventIngestor(publisher, limits=EventLimits.from_settings(settings), admission=admission, usage=usage)
    server = await start_grpc_server(
        EventService(ingestor, authenticator),
        host=host or settings.grpc_host,
        port=settings.grpc_port if port is None else port,
        max_concurrent_rpcs=settings.max_concurrent_rpcs,
        max_message_bytes=2 * settings.max_batch_bytes,
    )
    return RunningIngest(server, publisher, ingestor, admission)


async def serve(settings: IngestSettings, *, ready: Callable[[RunningIngest], Awaitable[None]] | None = None) -> None:
    """``barista-ingest serve``: run the gRPC server until SIGTERM/SIGINT, then drain."""
    configure_logging(settings.log_level, settings.log_format, component="ingest")
    stop = stop_on_signals()
    health = Health()
    async with AsyncExitStack() as stack:
        broker = await connect_broker(
            settings.broker_url.get_secret_value(), publish_timeout=settings.publish_timeout_seconds
        )
        stack.push_async_callback(broker.close)
        pool = await open_postgres(settings.postgres_url.get_secret_value())
        stack.push_async_callback(pool.close)
        redis = await open_redis(settings.redis_url.get_secret_value())
        stack.push_async_callback(redis.aclose)
        verifier = CredentialVerifier(postgres=pool, redis=redis, prefix=settings.redis_prefix)
        await verifier.start()
        stack.push_async_callback(verifier.close)

        running = await start_ingest(
            settings,
            broker=broker,
            authenticator=verifier,
            redis=redis,
        )
        health.add_check("broker", lambda: broker.declare_exchange(EVENTS_EXCHANGE))
        health.add_check("redis", redis.ping)
        health.add_check("postgres", lambda: _pg_ping(pool))
        probes = await serve_probes(health, port=settings.probe_port)
        stack.callback(probes.close)
        log.info("ingest ready", grpc_port=running.port, probe_port=settings.probe_port)
        if ready is not None:
            await ready(running)
        await stop.wait()
        log.info("draining", grace_s=settings.shutdown_grace_seconds)
        health.ready_gate = False
        await running.stop(settings.shutdown_grace_seconds)
    log.info("ingest stopped")


async def _pg_ping(pool: Any) -> None:
    async with pool.connection() as conn:
        await conn.execute("SELECT 1")


# ---- the sinker --------------------------------------------------------------------------------------


@dataclass
class RunningSinker:
    sinker: Sinker
    task: asyncio.Task[None]
    stop_event: asyncio.Event
    writer: BatchWriter
    extras: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self, grace: float = 30.0) -> None:
        """Stop consuming, flush the buffer (waiting up to ``grace`` s), close the writer."""
        self.stop_event.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), grace)
        except TimeoutError:
            log.warning("sinker did not flush within the grace period; unacked messages return to the queue")
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        finally:
            for extra in self.extras:
                extra.cancel()
            await asyncio.gather(*self.extras, return_exceptions=True)
            await self.writer.close()


def build_writer(settings: SinkerSettings, *, clickhouse: Any = None) -> BatchWriter:
    if settings.destination == "clickhouse":
        client = clickhouse
        if client is None:
            assert settings.clickhouse_url is not None
            client = open_clickhouse(settings.clickhouse_url.get_secret_value())
        return ClickHouseWriter(
            client,
            database=tenant_database(settings.tenant),
            table=settings.clickhouse_table,
            tenant=settings.tenant,
            ttl_days=settings.ttl_days,
            sink=settings.sink_name,
        )
    assert settings.webhook_url is not None
    assert settings.webhook_secret is not None
    return WebhookWriter(
        settings.webhook_url,
        settings.webhook_secret.get_secret_value(),
        tenant=settings.tenant,
        sink=settings.sink_name,
        timeout=settings.webhook_timeout_seconds,
    )


async def start_sinker(
    settings: SinkerSettings,
    *,
    broker: Broker,
    writer: BatchWriter | None = None,
    clickhouse: Any = None,
    after_write: Any = None,
) -> RunningSinker:
    """Declare the Sink's queues and bindings (idempotent), prepare the writer, start consuming."""
    topology = sink_topology(
        settings.tenant,
        settings.sink_name,
        settings.event_types,
        queue=settings.queue,
        dead_letter_queue=settings.dead_letter_queue,
    )
    await declare_sink_topology(broker, topology)
    writer = writer or build_writer(settings, clickhouse=clickhouse)
    await writer.prepare()
    sinker = Sinker(
        broker,
        settings.queue,
        writer,
        tenant=settings.tenant,
        sink=settings.sink_name,
        batch=BatchPolicy(
            max_events=settings.batch_max_events,
            max_bytes=settings.batch_max_bytes,
            max_delay=settings.batch_max_delay_ms / 1000,
        ),
        delivery=DeliveryPolicy(
            max_attempts=settings.delivery_max_attempts,
            initial_backoff=settings.delivery_initial_backoff_ms / 1000,
            max_backoff=settings.delivery_max_backoff_ms / 1000,
            dead_letter=settings.dead_letter,
        ),
        dead_letters=DeadLetterer(
            broker, topology.dead_letter_queue.name if settings.dead_letter else None, sink=settings.sink_name
        ),
        prefetch=settings.prefetch,
        event_types=settings.event_types,
        after_write=after_write,
    )
    stop_event = asyncio.Event()
    task = asyncio.create_task(sinker.run(stop_event), name=f"sinker-{settings.sink_name}")
    depth = asyncio.create_task(watch_queue_depth(broker, settings.queue, settings.sink_name))
    return RunningSinker(sinker, task, stop_event, writer, [depth])


async def sink(settings: SinkerSettings) -> None:
    """``barista-ingest sink``: run one Sink's sinker until SIGTERM/SIGINT, then flush and exit."""
    configure_logging(settings.log_level, settings.log_format, component="sinker")
    stop = stop_on_signals()
    health = Health()
    async with AsyncExitStack() as stack:
        broker = await connect_broker(settings.broker_url.get_secret_value())
        stack.push_async_callback(broker.close)
        running = await start_sinker(settings, broker=broker)
        health.add_check("broker", lambda: broker.queue_depth(settings.queue))
        health.add_check("sinker", lambda: _alive(running.task))
        probes = await serve_probes(health, port=settings.probe_port)
        stack.callback(probes.close)
        log.info("sinker ready", queue=settings.queue, destination=settings.destination)
        done, _ = await asyncio.wait(
            [running.task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        health.ready_gate = False
        if running.task in done and running.task.exception() is not None:
            await running.stop(0)
            raise running.task.exception()  # type: ignore[misc]
        await running.stop(grace=30.0)
    log.info("sinker stopped")


async def _alive(task: asyncio.Task[None]) -> None:
    if task.done():
        raise RuntimeError("the sinker loop has stopped")
