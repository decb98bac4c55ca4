"""``barista send``: send sample events over gRPC and show them queryable in ClickHouse.

- With a running ``barista up`` (it writes ``<data-dir>/ingest.json``) or ``--target`` and
  ``--api-key``: the events go to that server; the per-event answers are printed.
- Otherwise the command brings up the ingest path itself on the embedded backends in ``--data-dir``
  (ClickHouse via chdb, PostgreSQL, Redis, in-process broker), sends the events through gRPC, waits
  until the sinker has written them and prints what a query over them returns.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from pathlib import Path

from rich.console import Console

from barista_core.events import CATALOGUE
from barista_core.logging import configure_logging

console = Console(highlight=False, soft_wrap=True)


def run_send(
    *, data_dir: Path, target: str | None, api_key: str | None, count: int, types: list[str], seed: int | None
) -> int:
    configure_logging("WARNING", "console")
    unknown = [t for t in types if t not in CATALOGUE and not t.startswith("custom.")]
    if unknown:
        console.print(f"[red]unknown event types: {', '.join(unknown)}[/] (see the catalogue; custom.* is free)")
        return 2
    return asyncio.run(_send(data_dir, target, api_key, count, types, seed))


async def _send(
    data_dir: Path, target: str | None, api_key: str | None, count: int, types: list[str], seed: int | None
) -> int:
    from barista_ingest.demo import DEFAULT_TYPES, sample_events, send_events
    from barista_ingest.embedded import CREDENTIALS_FILE

    events = sample_events(count, types=types or DEFAULT_TYPES, seed=seed)
    credentials = data_dir / CREDENTIALS_FILE
    if target is None and api_key is None and credentials.exists():
        saved = json.loads(credentials.read_text())
        target, api_key = saved["target"], saved["api_key"]
        console.print(f"sending to the running barista up at {target} (tenant {saved['tenant']})")
    if target is not None or api_key is not None:
        if not (target and api_key):
            console.print("[red]--target and --api-key go together[/]")
            return 2
        report = await send_events(target, api_key, events)
        console.print(f"sent {len(events)} events: {report.line()}")
        if credentials.exists():
            console.print(
                f"they are in ClickHouse table tenant_{saved['tenant'].replace('-', '_')}.events of that barista up "
                "(its sinker flushes every 250 ms)"
            )
        return 0 if report.accepted == len(events) else 1
    return await _self_contained(data_dir, events)


def _prepared(data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir.resolve()


async def _self_contained(data_dir: Path, events: list) -> int:
    from barista.up import _start_backends
    from barista_core.naming import tenant_database
    from barista_ingest import embedded
    from barista_ingest.demo import send_events

    console.print(f"no barista up is running: starting the ingest path on the embedded backends in {data_dir}")
    root = await asyncio.to_thread(_prepared, data_dir)
    async with AsyncExitStack() as stack:
        plane = await _start_backends(root, stack)
        await stack.enter_async_context(embedded.service().start(plane))
        target, tenant = plane.shared["ingest_target"], plane.shared["demo_tenant"]
        report = await send_events(target, plane.shared["demo_api_key"], events)
        console.print(f"sent {len(events)} events over gRPC to {target}: {report.line()}")
        table = f"`{tenant_database(tenant)}`.events"
        found = await embedded.wait_queryable(plane.clickhouse, table, report.ids)
        console.print(f"{found} of {report.accepted} accepted events are queryable in {table}:")
        sql = (
            f"SELECT event_type, count() AS events, uniqExact(user_id) AS users FROM {table} FINAL "
            "WHERE event_id IN {ids:Array(String)} GROUP BY event_type ORDER BY events DESC, event_type"
        )
        console.print(f"  {sql.replace('{ids:Array(String)}', '(…ids just sent…)')}")
        rows = await asyncio.to_thread(lambda: plane.clickhouse.query(sql, parameters={"ids": report.ids}).result_rows)
        for event_type, n, users in rows:
            console.print(f"  {event_type:<24} {n:>6} events  {users:>4} users")
        example = await asyncio.to_thread(
            lambda: (
                plane.clickhouse.query(
                    f"SELECT event_type, props.order_id, props.total, props.currency FROM {table} FINAL "
                    "WHERE event_type = 'order.completed' AND event_id IN {ids:Array(String)} LIMIT 3",
                    parameters={"ids": report.ids},
                ).result_rows
            )
        )
        if example:
            console.print("  properties are columns too: SELECT props.order_id, props.total, props.currency …")
            for row in example:
                console.print(f"    {row[1]}  {row[2]} {row[3]}")
        return 0 if found == report.accepted == len(events) else 1
