"""A tiny HTTP/1.1 server (keep-alive, JSON answers) for ``barista up``'s demo endpoint and the benchmark.

Not a web framework: one handler ``(method, path, query) -> (status, body)`` and nothing else. It
stands in for a third-party API where there is no internet; production never runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

Handler = Callable[[str, str, dict[str, str]], tuple[int, Any]]
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}


@dataclass
class LocalJsonServer:
    handler: Handler
    host: str = "127.0.0.1"
    port: int = 0
    requests: int = 0
    _server: asyncio.Server | None = None
    _connections: set[asyncio.StreamWriter] = field(default_factory=set)
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> LocalJsonServer:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):
                writer.close()
            for task in list(self._handlers):  # let each connection's handler see its end
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> LocalJsonServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._connections.add(writer)
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                length = 0
                keep_alive = True
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value.strip() or 0)
                    elif name == "connection" and value.strip().lower() == "close":
                        keep_alive = False
                if length:
                    await reader.readexactly(length)
                parts = request_line.decode("latin-1").split()
                if len(parts) < 2:
                    return
                split = urllib.parse.urlsplit(parts[1])
                query = dict(urllib.parse.parse_qsl(split.query))
                self.requests += 1
                try:
                    status, payload = self.handler(parts[0], urllib.parse.unquote(split.path), query)
                except Exception as exc:  # a handler bug answers 500, like any server would
                    status, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
                body = orjson.dumps(payload)
                closing = "" if keep_alive else "Connection: close\r\n"
                writer.write(
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n{closing}\r\n".encode()
                    + body
                )
                await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            self._handlers.discard(task)
            self._connections.discard(writer)
            writer.close()
