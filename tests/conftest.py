"""Fixtures every test area shares: real PostgreSQL, Redis and RabbitMQ (isolated per test run), chdb.

Isolation: each test gets its own Postgres database, Redis key prefix, RabbitMQ vhost (per worker
process) and ClickHouse database. Everything is removed afterwards, so several runs can share servers.
Override servers with BARISTA_TEST_POSTGRES_URL / BARISTA_TEST_REDIS_URL / BARISTA_TEST_AMQP_URL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

POSTGRES_URL = os.environ.get("BARISTA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BARISTA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_BASE = os.environ.get("BARISTA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    # pytest-asyncio 1.5 saves "the current loop" with asyncio.get_event_loop() before each async test;
    # on Python < 3.12 that call creates (and leaks) a loop when none was ever set. Declaring that no
    # loop is current makes it raise instead, which pytest-asyncio handles.
    asyncio.set_event_loop(None)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a process the test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- ClickHouse (chdb: one data directory per process) ----------------------------------------------


@pytest.fixture(scope="session")
def chdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"chdb://{tmp_path_factory.mktemp('chdb')}"


@pytest.fixture
def clickhouse(chdb_url: str):
    from barista_core.backends import open_clickhouse

    return open_clickhouse(chdb_url)


@pytest.fixture
def ch_database(clickhouse) -> Iterator[str]:
    """A fresh ClickHouse database, dropped afterwards."""
    name = unique("t")
    clickhouse.command(f"CREATE DATABASE {name}")
    yield name
    clickhouse.command(f"DROP DATABASE IF EXISTS {name} SYNC")


# ---- PostgreSQL ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    return POSTGRES_URL


@pytest.fixture
def pg_url(postgres_server_url: str) -> Iterator[str]:
    """URL of a fresh database on the machine's PostgreSQL, dropped afterwards."""
    name = unique("barista_test")
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_server_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- Redis --------------------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix owned by this test; every key under it is deleted afterwards."""
    import redis.asyncio as aioredis

    prefix = unique("barista-test") + ":"
    yield prefix
    client = aioredis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


# ---- RabbitMQ -----------------------------------------------------------------------------------------


def _rabbitmqctl(*args: str) -> None:
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl not found: cannot create an isolated vhost")
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def amqp_vhost() -> Iterator[str]:
    """A RabbitMQ vhost owned by this test process (worker), deleted at the end."""
    vhost = unique("barista-test")
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield vhost
    _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def amqp_url(amqp_vhost: str) -> str:
    return AMQP_BASE.rstrip("/") + "/" + quote(amqp_vhost, safe="")


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary directory other OS users can traverse (as root, pgserver runs PostgreSQL as 'pgserver';
    pytest's own tmp_path lives under a 0700 directory)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="barista-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
