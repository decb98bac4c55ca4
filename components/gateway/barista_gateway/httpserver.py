"""A lean HTTP/1.1 server for the gateway's ASGI app: llhttp (httptools) parses, asyncio writes.

Why not uvicorn: answering a fixed response, uvicorn's httptools protocol took 41 µs of CPU per
request on this project's 2-core machine against 12.4 µs for a bare asyncio protocol on the same
parser (measured side by side with wrk); on a cached answer that overhead was more than the gateway's
own work. Per request this server makes one scope, one task and one socket write, validates response
headers with one pass over the finished head, and needs no timer (one sweep per second closes idle
connections). It does what the gateway needs and nothing else:

- HTTP/1.1 and 1.0, keep-alive, pipelining (requests answered in order; reading pauses while one
  is queued), ``Expect: 100-continue``;
- request bodies streamed to ``receive()`` with back-pressure (reading pauses above 64 KiB buffered);
- responses framed by ``content-length`` (added when the whole body comes in one message), else
  chunked (HTTP/1.1) or ended by closing (HTTP/1.0); no body for HEAD, 1xx, 204 and 304; a small
  answer leaves in one write; a streamed one waits for the socket to drain between chunks;
- limits: request head size (431); idle keep-alive connections, slow request heads and request
  bodies that stop coming are closed by one sweep per second rather than a timer per request;
  malformed requests get 400 and the connection is closed;
- an app that fails before answering gets a 500; one that fails mid-answer has its connection closed;
- lifespan (optional) and graceful shutdown: stop accepting, close idle connections, let in-flight
  answers finish (until a deadline), then cancel what is left.

WebSockets and HTTP/2 are not served (the gateway has neither); an upgrade request is answered as a
plain request on a connection that then closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import httptools

from barista_core.logging import get_logger

log = get_logger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

#: Buffered request body above which reading pauses until the app takes it.
BODY_HIGH_WATER = 64 * 1024
_ASGI = {"version": "3.0", "spec_version": "2.3"}
_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}
_NO_BODY_STATUSES = frozenset({204, 304})
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_CHUNKED_END = b"0\r\n\r\n"
_CONNECTION_CLOSE = b"connection: close\r\n"


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 999:
            raise RuntimeError(f"invalid HTTP status {status!r}")
        line = f"HTTP/1.1 {status} \r\n".encode()
    return line


def _plain_response(status: int, message: str) -> bytes:
    body = message.encode()
    return (
        _status_line(status)
        + b"content-type: text/plain; charset=utf-8\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\nconnection: close\r\n\r\n"
        + body
    )


#: Response header names already checked, each with its lower-case form (the same few names recur on
#: every answer).
_CHECKED_NAMES: dict[bytes, bytes] = {}
_NAME_BYTES = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _check_name(name: bytes) -> bytes:
    if not name or not all(c in _NAME_BYTES for c in name):
        raise RuntimeError(f"invalid response header name {name!r}")
    lowered = name.lower()
    if len(_CHECKED_NAMES) < 4096:
        _CHECKED_NAMES[name] = lowered
    return lowered


class _HeadTooLarge(Exception):
    pass


class _Exchange:
    """One request and its answer: the ASGI ``receive`` and ``send`` of that request."""

    __slots__ = (
        "body",
        "body_delivered",
        "chunked",
        "conn",
        "expect_continue",
        "head",
        "keep_alive",
        "length_left",
        "more_body",
        "no_body",
        "response_complete",
        "response_started",
        "scope",
        "waiter",
    )

    def __init__(self, conn: _Connection, scope: dict[str, Any], keep_alive: bool, expect_continue: bool) -> None:
        self.conn = conn
        self.scope = scope
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.body = bytearray()
        self.more_body = True
        self.body_delivered = False
        self.waiter: asyncio.Future[None] | None = None
        self.response_started = False
        self.response_complete = False
        self.head: list[bytes] | None = None
        self.chunked = False
        self.no_body = False
        self.length_left: int | None = None

    # ---- receive ------------------------------------------------------------------------------------

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def receive(self) -> Message:
        conn = self.conn
        if self.expect_continue and not conn.closed:
            self.expect_continue = False
            if not self.response_started:
                conn.transport.write(_CONTINUE)
        # after the last of the body, the next message is the disconnect: wait for it (or the answer's end)
        while (
            (not self.body and (self.more_body or self.body_delivered))
            and not conn.closed
            and not self.response_complete
        ):
            conn.resume_reading()
            waiting_for_body = self.more_body
            if waiting_for_body:  # a body that stops coming times out like an idle connection
                conn.waiting_since = conn.loop.time()
            self.waiter = conn.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
                if waiting_for_body:
                    conn.waiting_since = None
        if conn.closed or self.response_complete:
            return {"type": "http.disconnect"}
        body = bytes(self.body)
        self.body.clear()
        self.body_delivered = not self.more_body
        if self is conn.current:
            conn.resume_reading()
        return {"type": "http.request", "body": body, "more_body": self.more_body}

    # ---- send ---------------------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.response_started:
                raise RuntimeError("http.response.start sent twice")
            self._start(message)
        elif kind == "http.response.body":
            if not self.response_started:
                raise RuntimeError("http.response.body sent before http.response.start")
            if self.response_complete:
                raise RuntimeError("http.response.body sent after the response was complete")
            more = message.get("more_body", False)
            self._body(message.get("body", b""), more)
            if more:
                await self.conn.drain()
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")

    def _start(self, message: Message) -> None:
        status = message["status"]
        head = [_status_line(status)]
        lines = 1
        for name, value in message.get("headers", ()):
            lowered = _CHECKED_NAMES.get(name)
            if lowered is None:
                lowered = _check_name(name)
            if lowered == b"content-length":
                self.length_left = int(value)
            elif lowered == b"transfer-encoding":
                if value.lower() != b"chunked":
                    raise RuntimeError("only chunked transfer-encoding can be sent")
                self.chunked = True
                continue  # added back below, once
            elif lowered == b"connection" and value.lower() == b"close":
                self.keep_alive = False
                continue  # added back below, once
            head += (name, b": ", value, b"\r\n")
            lines += 1
        block = b"".join(head)
        # one count over the whole head rather than a search per value (`b"\n" in value` is slow in 3.11)
        if block.count(b"\n") != lines or block.count(b"\r") != lines:
            raise RuntimeError("a response header value contains a line break")
        self.no_body = status < 200 or status in _NO_BODY_STATUSES or self.scope["method"] == "HEAD"
        if self.no_body:
            self.chunked = False
        self.head = [block, b"transfer-encoding: chunked\r\n"] if self.chunked else [block]
        self.response_started = True

    def _body(self, body: bytes, more: bool) -> None:
        conn = self.conn
        head = self.head
        out: list[bytes] = []
        if head is not None:  # the first body message: the head goes out with it
            self.head = None
            if not self.no_body and not self.chunked and self.length_left is None:
                if more:
                    if self.scope["http_version"] == "1.1":
                        self.chunked = True
                        head.append(b"transfer-encoding: chunked\r\n")
                    else:
                        self.keep_alive = False  # HTTP/1.0 without a length: the close ends the body
                else:
                    self.length_left = len(body)
                    head += (b"content-length: ", str(len(body)).encode(), b"\r\n")
            if not self.keep_alive or conn.stopping:
                self.keep_alive = False
                head.append(_CONNECTION_CLOSE)
            head.append(b"\r\n")
            out = head
        if body and not self.no_body:
            if self.chunked:
                out += (f"{len(body):x}\r\n".encode(), body, b"\r\n")
            else:
                if self.length_left is not None:
                    self.length_left -= len(body)
                    if self.length_left < 0:
                        raise RuntimeError("response body longer than its content-length")
                out.append(body)
        if not more:
            if self.chunked:
                out.append(_CHUNKED_END)
            elif self.length_left and not self.no_body:
                self.keep_alive = False  # shorter than announced: the client cannot find the next answer
            self.response_complete = True
            self.wake()
        if out and not conn.closed:
            conn.transport.write(out[0] if len(out) == 1 else b"".join(out))
        if not more:
            conn.response_complete(self)


class _Connection(asyncio.Protocol):
    """One client connection: parses requests, runs the app for each, in order."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.app = server.app
        self.loop = server.loop
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser = httptools.HttpRequestParser(self)
        self.client: tuple[str, int] | None = None
        self.local: tuple[str, int] | None = None
        self.closed = False
        self.stopping = False
        self.reading_paused = False
        self.writing_paused: asyncio.Future[None] | None = None
        self.current: _Exchange | None = None  # the exchange being answered
        self.parsing: _Exchange | None = None  # the exchange whose request is being read
        self.queued: deque[_Exchange] = deque()
        self.task: asyncio.Task[None] | None = None
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_bytes = 0
        #: since when the connection has waited for the client: idle, inside a request head, or for more of a
        #: request body (None: nothing expected from the client); the sweep closes it past the timeout
        self.waiting_since: float | None = None

    # ---- asyncio.Protocol ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.client = _address(transport.get_extra_info("peername"))
        self.local = _address(transport.get_extra_info("sockname"))
        self.waiting_since = self.loop.time()
        self.server.connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.forget(self)
        for exchange in (self.current, self.parsing, *self.queued):
            if exchange is not None:
                exchange.wake()
        waiter = self.writing_paused
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # no protocol upgrades here: answer the request as it is, then close
            parsing = self.parsing
            if parsing is not None:
                parsing.keep_alive = False
                parsing.more_body = False
                parsing.wake()
            self.pause_reading()
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _HeadTooLarge):
                self._refuse(431, "Request header fields too large")
            else:
                log.exception("HTTP request handling failed", client=self.client)
                self._refuse(500, "Internal server error")
        except httptools.HttpParserError as exc:
            self._refuse(400, f"Invalid HTTP request: {exc}")

    def pause_writing(self) -> None:
        if self.writing_paused is None:
            self.writing_paused = self.loop.create_future()

    def resume_writing(self) -> None:
        waiter = self.writing_paused
        self.writing_paused = None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---- httptools callbacks ------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.head_bytes = 0
        if self.current is None:
            self.waiting_since = self.loop.time()  # a slow head times out like an idle connection

    def on_url(self, url: bytes) -> None:
        self.url += url
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))
        self._count_head(len(name) + len(value))

    def _count_head(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > self.server.max_head_bytes:
            raise _HeadTooLarge

    def on_headers_complete(self) -> None:
        parser = self.parser
        url = self.url
        if url[:1] == b"/":
            raw_path, _, query = url.partition(b"?")
        else:  # absolute-form (a proxy-style request) or '*'
            parsed = httptools.parse_url(url)
            raw_path, query = parsed.path or b"/", parsed.query or b""
        try:
            path = raw_path.decode("ascii")
        except UnicodeDecodeError:
            path = raw_path.decode("utf-8", "replace")
        if "%" in path:
            path = unquote(path)  # percent-encoded UTF-8, as ASGI asks
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": parser.get_http_version(),
            "server": self.local,
            "client": self.client,
            "scheme": "http",
            "method": parser.get_method().decode("ascii"),
            "root_path": "",
            "path": path,
            "raw_path": raw_path,
            "query_string": query,
            "headers": self.headers,
        }
        if self.server.state:
            scope["state"] = self.server.state.copy()
        expect_continue = False
        for name, value in self.headers:
            if name == b"expect" and value.lower() == b"100-continue":
                expect_continue = True
        exchange = _Exchange(self, scope, parser.should_keep_alive() and not self.stopping, expect_continue)
        self.parsing = exchange
        self.waiting_since = None
        if self.current is None:
            self._begin(exchange)
        else:
            self.queued.append(exchange)
            self.pause_reading()

    def on_body(self, body: bytes) -> None:
        exchange = self.parsing
        if exchange is None or exchange.response_complete:
            return
        exchange.body += body
        if len(exchange.body) > BODY_HIGH_WATER:
            self.pause_reading()
        exchange.wake()

    def on_message_complete(self) -> None:
        exchange = self.parsing
        if exchange is None:
            return
        exchange.more_body = False
        exchange.wake()

    # ---- running the app ----------------------------------------------------------------------------

    def _begin(self, exchange: _Exchange) -> None:
        # A task per request, not an eager first step outside one: anyio (FastAPI), aiohttp's and redis'
        # timeouts all need to run inside a task.
        self.current = exchange
        self.task = self.loop.create_task(self._run(exchange))

    async def _run(self, exchange: _Exchange) -> None:
        try:
            await self.app(exchange.scope, exchange.receive, exchange.send)
        except Exception:
            log.exception("unhandled error in the ASGI app", path=exchange.scope["path"])
            self._failed(exchange)
        else:
            if not exchange.response_complete:
                log.error("the ASGI app returned without a complete response", path=exchange.scope["path"])
                self._failed(exchange)

    def _failed(self, exchange: _Exchange) -> None:
        if self.closed:
            return
        if exchange.response_started:
            self.transport.close()  # the client cannot tell where this answer ends
            return
        exchange.response_started = exchange.response_complete = True
        exchange.keep_alive = False
        self.transport.write(_plain_response(500, "Internal server error"))
        self.response_complete(exchange)

    def response_complete(self, exchange: _Exchange) -> None:
        self.server.requests += 1
        if exchange is not self.current:
            return
        self.current = None
        if self.closed:
            return
        if not exchange.keep_alive:
            self.transport.close()
            return
        if self.queued:
            self._begin(self.queued.popleft())
            if not self.queued:
                self.resume_reading()
            return
        self.waiting_since = self.loop.time()
        self.resume_reading()

    async def drain(self) -> None:
        waiter = self.writing_paused
        if waiter is not None and not self.closed:
            await waiter

    # ---- flow control and closing -------------------------------------------------------------------

    def pause_reading(self) -> None:
        if not self.reading_paused and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and not self.closed and not self.queued:
            parsing = self.parsing
            if parsing is not None and len(parsing.body) > BODY_HIGH_WATER:
                return
            self.reading_paused = False
            self.transport.resume_reading()

    def _refuse(self, status: int, message: str) -> None:
        if self.closed:
            return
        if self.current is None or self.current.response_complete:
            self.transport.write(_plain_response(status, message))
        self.transport.close()

    def close_if_idle(self, now: float, timeout: float) -> None:
        since = self.waiting_since
        if since is not None and now - since > timeout and not self.closed:
            self.transport.close()

    def stop(self) -> None:
        """Shutdown: close at once if idle, else after the answer in hand."""
        self.stopping = True
        if self.current is None and not self.closed:
            self.transport.close()


def _address(value: Any) -> tuple[str, int] | None:
    if isinstance(value, tuple) and len(value) >= 2:
        return str(value[0]), int(value[1])
    return None


class HttpServer:
    """Serves ``app`` on ``host:port`` (or on ``sock``). ``start()``, then ``shutdown()``; or ``run()``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        sock: socket.socket | None = None,
        lifespan: bool = True,
        keep_alive_timeout: float = 30.0,
        graceful_timeout: float = 20.0,
        max_head_bytes: int = 64 * 1024,
        backlog: int = 4096,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.sock = sock
        self.lifespan = lifespan
        self.keep_alive_timeout = keep_alive_timeout
        self.graceful_timeout = graceful_timeout
        self.max_head_bytes = max_head_bytes
        self.backlog = backlog
        self.connections: set[_Connection] = set()
        self.state: dict[str, Any] = {}
        self.requests = 0
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self._server: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._lifespan: _Lifespan | None = None
        self._drained: asyncio.Event | None = None  # set once shutdown has seen the last connection close

    @property
    def bound_port(self) -> int:
        assert self._server is not None, "not started"
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        if self.lifespan:
            self._lifespan = _Lifespan(self.app, self.state)
            await self._lifespan.startup()
        if self.sock is not None:
            self._server = await self.loop.create_server(
                lambda: _Connection(self), sock=self.sock, backlog=self.backlog
            )
        else:
            self._server = await self.loop.create_server(
                lambda: _Connection(self), self.host, self.port, backlog=self.backlog, reuse_address=True
            )
        self._sweeper = self.loop.create_task(self._sweep(), name="barista-http-keepalive")

    async def _sweep(self) -> None:
        interval = min(1.0, self.keep_alive_timeout / 2)
        while True:
            await asyncio.sleep(interval)
            now = self.loop.time()
            for conn in list(self.connections):
                conn.close_if_idle(now, self.keep_alive_timeout)

    def forget(self, conn: _Connection) -> None:
        self.connections.discard(conn)
        if self._drained is not None and not self.connections:
            self._drained.set()

    async def shutdown(self) -> None:
        """Stop accepting, finish the answers in hand (until ``graceful_timeout``), run lifespan shutdown."""
        if self._server is None:
            return
        self._server.close()
        for conn in list(self.connections):
            conn.stop()
        if self.connections:
            self._drained = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), self.graceful_timeout)
        for conn in list(self.connections):
            if conn.task is not None and not conn.task.done():
                conn.task.cancel()
            conn.transport.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self._server.wait_closed()
        self._server = None
        if self._lifespan is not None:
            await self._lifespan.shutdown()


class _Lifespan:
    """The ASGI lifespan protocol from the server's side."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": _ASGI, "state": self.state}
        try:
            await self.app(scope, self.inbox.get, self.outbox.put)
        finally:
            await self.outbox.put({"type": "lifespan.ended"})

    async def _exchange(self, kind: str) -> None:
        await self.inbox.put({"type": f"lifespan.{kind}"})
        reply = await self.outbox.get()
        if reply["type"] == f"lifespan.{kind}.failed":
            raise RuntimeError(f"lifespan {kind} failed: {reply.get('message', '')}")
        if reply["type"] == "lifespan.ended":
            assert self.task is not None
            self.task.result()  # the app's exception, if it raised
            raise RuntimeError(f"the app ended its lifespan during {kind}")

    async def startup(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name="barista-http-lifespan")
        await self._exchange("startup")

    def forget(self, conn: _Connection) -> None:
        self.connections.discard(conn)
        if self._drained is not None and not self.connections:
            self._drained.set()

    async def shutdown(self) -> None:
        if self.task is None or self.task.done():
            return
        await self._exchange("shutdown")
        await self.task


__all__ = ["BODY_HIGH_WATER", "HttpServer"]
