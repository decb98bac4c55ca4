"""Serving: uvicorn with uvloop and httptools, one process, the edge as the ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from barista_core.contracts.gateway import GatewaySettings
from barista_core.logging import configure_logging
from barista_gateway.main import create_app


class _CoalescingTransport:
    """Hands uvicorn's writes of one loop iteration to the socket as one write.

    uvicorn writes a response's status line and headers, then its body, each straight to the socket:
    two send() calls (and on loopback two passes through the TCP stack) for every small answer.
    Buffered, they go out together when the response is complete (or, for streamed bodies, chunk by
    chunk at the end of each loop iteration).
    """

    __slots__ = ("_buffer", "_loop", "_scheduled", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._buffer: list[bytes] = []
        self._scheduled = False

    def write(self, data: bytes) -> None:
        if data:
            self._buffer.append(data)
            if not self._scheduled:
                self._scheduled = True
                self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if self._buffer:
            data = self._buffer[0] if len(self._buffer) == 1 else b"".join(self._buffer)
            self._buffer = []
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(b) for b in self._buffer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through :class:`_CoalescingTransport`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        self.transport.flush()  # type: ignore[attr-defined]  # a finished answer leaves at once
        super().on_response_complete()


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host (``barista up``, tests)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def uvicorn_config(app: object, *, host: str, port: int, **overrides: object) -> uvicorn.Config:
    options: dict[str, object] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": CoalescingHttpToolsProtocol,
        "lifespan": "on",
        "proxy_headers": False,  # the client address is the peer's unless BARISTA_TRUSTED_PROXIES says otherwise
        "access_log": False,  # the edge writes structured access logs itself
        "server_header": False,
        "date_header": False,
        "log_config": None,
        "backlog": 4096,
        "timeout_keep_alive": 30,
        "timeout_graceful_shutdown": 20,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)  # type: ignore[arg-type]


def main() -> None:
    settings = GatewaySettings.load()
    configure_logging(settings.log_level, settings.log_format, component="gateway")
    config = uvicorn_config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )
    server = uvicorn.Server(config)
    server.run()
