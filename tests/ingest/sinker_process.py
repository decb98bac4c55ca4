"""A sinker in its own process, for the crash test: ``python sinker_process.py <settings JSON> crash|drain N``.

crash: after the first batch is inserted into ClickHouse — and before any ack — the process SIGKILLs
       itself (what an OOM kill or a node loss looks like to the broker and to ClickHouse).
drain: run until the table holds N distinct events and the queue is empty, then print the counts.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

from prometheus_client import REGISTRY

from barista_core.backends import open_clickhouse
from barista_core.contracts import SinkerSettings
from barista_core.naming import tenant_database
from barista_ingest.app import connect_broker, start_sinker
from barista_ingest.sink.model import Batch


async def main(settings: SinkerSettings, mode: str, expected: int) -> None:
    broker = await connect_broker(settings.broker_url.get_secret_value())
    clickhouse = open_clickhouse(settings.clickhouse_url.get_secret_value())  # type: ignore[union-attr]

    async def crash(batch: Batch) -> None:
        print(f"written {batch.count} redelivered={batch.redelivered}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    running = await start_sinker(
        settings, broker=broker, clickhouse=clickhouse, after_write=crash if mode == "crash" else None
    )
    table = f"`{tenant_database(settings.tenant)}`.`{settings.clickhouse_table}`"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        unique = clickhouse.query(f"SELECT uniqExact(event_id) FROM {table}").result_rows[0][0]
        if unique >= expected and await broker.queue_depth(settings.queue) == 0:
            break
    await running.stop(grace=10)
    rows = clickhouse.query(f"SELECT count(), uniqExact(event_id) FROM {table}").result_rows[0]
    final = clickhouse.query(f"SELECT count() FROM {table} FINAL").result_rows[0][0]
    skipped = REGISTRY.get_sample_value("barista_sink_events_skipped_duplicate_total", {"sink": settings.sink_name})
    print(json.dumps({"rows": rows[0], "unique": rows[1], "final": final, "skipped": int(skipped or 0)}), flush=True)
    await broker.close()


if __name__ == "__main__":
    asyncio.run(main(SinkerSettings.model_validate_json(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
