"""ClickHouse through clickhouse-connect: a server (``clickhouse://``, ``clickhouses://``) or chdb (``chdb:///path``).

The same ``Client`` API serves both, so every component has one code path. chdb allows one data
directory per process, so chdb clients are shared per path.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from barista_core.errors import BackendError
from barista_core.urls import local_path_of, scheme_of

_SERVER_SCHEMES = {"clickhouse": False, "clickhouses": True, "http": False, "https": True}
_chdb_clients: dict[str, Client] = {}
_chdb_lock = threading.Lock()


def open_clickhouse(url: str, *, settings: dict[str, Any] | None = None, connect_timeout: float = 5.0) -> Client:
    """Open a ClickHouse client for ``url`` and check it answers."""
    scheme = scheme_of(url)
    if scheme == "chdb":
        return _open_chdb(url)
    if scheme not in _SERVER_SCHEMES:
        raise BackendError(
            url, f"unknown ClickHouse URL scheme {scheme!r}: use clickhouse://, clickhouses:// or chdb:///path"
        )
    dsn = url.replace(f"{scheme}://", "https://" if _SERVER_SCHEMES[scheme] else "http://", 1)
    try:
        client = clickhouse_connect.get_client(dsn=dsn, settings=settings, connect_timeout=connect_timeout)
    except (ClickHouseError, OSError) as exc:
        raise BackendError(url, f"cannot connect to ClickHouse: {_first_line(exc)}") from None
    return client


def _open_chdb(url: str) -> Client:
    path = local_path_of(url)
    if not path or not os.path.isabs(path):
        raise BackendError(url, "chdb URLs need an absolute path: chdb:///abs/path")
    path = os.path.realpath(path)
    with _chdb_lock:
        client = _chdb_clients.get(path)
        if client is None:
            try:
                os.makedirs(path, exist_ok=True)
                client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
            except (ClickHouseError, OSError) as exc:
                raise BackendError(url, f"cannot open chdb: {_first_line(exc)}") from None
            _chdb_clients[path] = client
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
