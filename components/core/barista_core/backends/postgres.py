"""PostgreSQL through psycopg 3: a server (``postgresql://``) or an embedded pgserver (``pgserver:///path``)."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from barista_core.errors import BackendError
from barista_core.urls import local_path_of, scheme_of

_embedded: dict[str, Any] = {}
_embedded_lock = threading.Lock()


def postgres_conninfo(url: str) -> str:
    """A libpq connection string for ``url``; starts the embedded server for ``pgserver:///path``."""
    scheme = scheme_of(url)
    if scheme in ("postgresql", "postgres"):
        return url
    if scheme == "pgserver":
        return _embedded_server(url).get_uri()
    raise BackendError(url, f"unknown PostgreSQL URL scheme {scheme!r}: use postgresql:// or pgserver:///path")


def _embedded_server(url: str) -> Any:
    path = local_path_of(url)
    if not path or not os.path.isabs(path):
        raise BackendError(url, "pgserver URLs need an absolute path: pgserver:///abs/path")
    with _embedded_lock:
        server = _embedded.get(path)
        if server is None:
            try:
                with warnings.catch_warnings():  # pgserver asks platformdirs for XDG_RUNTIME_DIR, unset in pods/CI
                    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
                    import pgserver
            except ImportError:
                raise BackendError(url, "pgserver is not installed (pip install 'barista-core[embedded]')") from None
            os.makedirs(path, exist_ok=True)
            _check_reachable_by_pgserver_user(url, path)
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
                    server = pgserver.get_server(path, cleanup_mode="stop")
            except Exception as exc:  # pgserver raises bare Exceptions with initdb/pg_ctl output
                raise BackendError(url, f"cannot start embedded PostgreSQL: {str(exc).strip()[:300]}") from None
            _embedded[path] = server
    return server


def _check_reachable_by_pgserver_user(url: str, path: str) -> None:
    """As root, pgserver runs PostgreSQL as the OS user ``pgserver``, which must be able to reach ``path``."""
    if os.geteuid() != 0:
        return
    logging.getLogger("pgserver").setLevel(logging.CRITICAL)  # we report failures ourselves, in one line
    current = os.path.dirname(os.path.realpath(path))
    while True:
        if not os.stat(current).st_mode & 0o001:
            raise BackendError(
                url,
                f"running as root, PostgreSQL runs as user 'pgserver', which cannot enter "
                f"{current} (mode {oct(os.stat(current).st_mode & 0o777)}); choose a data "
                "directory under a path other users can traverse",
            )
        parent = os.path.dirname(current)
        if parent == current:
            return
        current = parent


def stop_embedded_postgres() -> None:
    with _embedded_lock:
        for server in _embedded.values():
            server.cleanup()
        _embedded.clear()


async def open_postgres(
    url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 5.0
) -> AsyncConnectionPool:
    """An opened async connection pool for ``url``, checked with one round trip."""
    conninfo = postgres_conninfo(url)
    pool = AsyncConnectionPool(
        conninfo, min_size=min_size, max_size=max_size, open=False, kwargs={"autocommit": True}, timeout=timeout
    )
    try:
        await pool.open(wait=True, timeout=timeout)
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
    except (psycopg.Error, OSError, TimeoutError) as exc:
        await pool.close()
        raise BackendError(url, f"cannot connect to PostgreSQL: {_reason(exc)}") from None
    return pool


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())[:300]
