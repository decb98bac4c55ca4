"""Ingest inside ``barista up``: the gRPC server and one ClickHouse sinker on the embedded backends.

The sinker serves the demo tenant (``plane.shared["demo_tenant"]``, created with an API key if no
other service made one) and binds every event type. The demo sends sample events over gRPC and
shows them in ClickHouse; ``barista send`` talks to the same server.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from barista_core import registry
from barista_core.auth.apikeys import ApiKey, generate_api_key, parse_api_key
from barista_core.auth.verifier import CredentialVerifier
from barista_core.contracts import IngestSettings, SinkerSettings
from barista_core.dataplane import DataPlane, Service
from barista_core.naming import sink_queue, tenant_database
from barista_core.plans import Plan, effective_features, effective_limits
from barista_ingest.app import start_ingest, start_sinker
from barista_ingest.demo import sample_events, send_events

DEMO_TENANT = "demo"
DEMO_SINK = "events"
DEFAULT_PORT = 50051
#: Written by ``barista up`` so ``barista send`` finds the server and a key: {"target", "api_key", "tenant"}.
CREDENTIALS_FILE = "ingest.json"


def service() -> Service:
    return Service(name="ingest", start=_start, demo=demo, order=40)


async def ensure_demo_tenant(plane: DataPlane) -> tuple[str, ApiKey]:
    """The demo tenant and an API key for it, shared with the other services through ``plane.shared``."""
    name = plane.shared.get("demo_tenant", DEMO_TENANT)
    token = plane.shared.get("demo_api_key")
    key = parse_api_key(token) if isinstance(token, str) else None
    if await registry.get_tenant(plane.postgres, name) is None:
        await registry.upsert_tenant(
            plane.postgres,
            registry.TenantRecord(
                name=name,
                display_name="Demo",
                plan=Plan.PAID,
                limits=effective_limits(Plan.PAID),
                features=effective_features(Plan.PAID),
            ),
        )
    if key is None:
        key = generate_api_key()
        await registry.register_api_key(plane.postgres, name, key, label="barista up demo")
    plane.shared["demo_tenant"] = name
    plane.shared["demo_api_key"] = key.token
    return name, key


def _port(preferred: int) -> int:
    """``preferred`` when free on 127.0.0.1, else 0 (any free port)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            return 0
    return preferred


@asynccontextmanager
async def _start(plane: DataPlane) -> AsyncIterator[None]:
    assert plane.broker is not None
    await registry.ensure_registry(plane.postgres)
    tenant, key = await ensure_demo_tenant(plane)
    verifier = CredentialVerifier(postgres=plane.postgres, redis=plane.redis)
    await verifier.start()
    settings = IngestSettings.model_validate(
        {
            "broker_url": plane.broker_url,
            "redis_url": plane.redis_url,
            "postgres_url": plane.postgres_url,
            "grpc_host": "127.0.0.1",
        }
    )
    running = await start_ingest(
        settings, broker=plane.broker, authenticator=verifier, redis=plane.redis, port=_port(DEFAULT_PORT)
    )
    sinker_settings = SinkerSettings.model_validate(
        {
            "tenant": tenant,
            "sink_name": DEMO_SINK,
            "queue": sink_queue(tenant, DEMO_SINK),
            "broker_url": plane.broker_url,
            "destination": "clickhouse",
            "clickhouse_url": plane.clickhouse_url,
            "batch_max_delay_ms": 250,
        }
    )
    sinker = await start_sinker(sinker_settings, broker=plane.broker, clickhouse=plane.clickhouse)
    target = f"127.0.0.1:{running.port}"
    plane.endpoints.append(("ingest gRPC", f"{target} (x-api-key from {plane.data_dir / CREDENTIALS_FILE})"))
    plane.shared["ingest_target"] = target
    credentials = Path(plane.data_dir) / CREDENTIALS_FILE
    credentials.write_text(json.dumps({"target": target, "api_key": key.token, "tenant": tenant}) + "\n")
    credentials.chmod(0o600)
    try:
        yield
    finally:
        credentials.unlink(missing_ok=True)
        await sinker.stop(grace=10)
        await running.stop(grace=5)
        await verifier.close()


async def demo(plane: DataPlane, *, count: int = 200) -> list[str]:
    """Send sample events over gRPC and show them queryable in ClickHouse."""
    tenant = plane.shared["demo_tenant"]
    events = sample_events(count)
    report = await send_events(plane.shared["ingest_target"], plane.shared["demo_api_key"], events)
    table = f"`{tenant_database(tenant)}`.events"
    rows = await wait_queryable(plane.clickhouse, table, report.ids)
    summary = await asyncio.to_thread(
        lambda: plane.clickhouse.query(
            f"SELECT uniqExact(event_type), uniqExact(user_id), "
            f"round(sumIf(props.total::Nullable(Float64), event_type = 'order.completed'), 2) "
            f"FROM {table} FINAL WHERE event_id IN {{ids:Array(String)}}",
            parameters={"ids": report.ids},
        ).result_rows[0]
    )
    types, users, revenue = summary
    return [
        f"sent {count} sample events over gRPC: {report.line()}",
        f"{rows} of them queryable in ClickHouse {table}: {types} event types from {users} users; "
        f"sum(props.total) of order.completed = {revenue}",
    ]


async def wait_queryable(clickhouse: object, table: str, ids: list[str], *, timeout: float = 15.0) -> int:
    """Poll until the events ``ids`` are all in ``table`` (or ``timeout``); returns how many are."""
    deadline = time.monotonic() + timeout
    found = 0
    while True:
        try:
            found = await asyncio.to_thread(
                lambda: clickhouse.query(  # type: ignore[attr-defined]
                    f"SELECT uniqExact(event_id) FROM {table} WHERE event_id IN {{ids:Array(String)}}",
                    parameters={"ids": ids},
                ).result_rows[0][0]
            )
        except Exception:  # the table appears with the sinker's first batch
            found = 0
        if found >= len(ids) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)
