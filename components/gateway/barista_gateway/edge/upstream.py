"""A lean HTTP/1.1 client for the reverse proxy: pooled keep-alive connections, answers parsed by httptools.

Why not aiohttp: on the proxy path its client cost about as much CPU per request as the whole rest
of the gateway (request and response objects, multidicts, timers, a stream reader per answer). This
client does what the proxy needs and nothing else:

- one :class:`UpstreamPool` per origin (scheme, host, port): idle connections are reused last-in
  first-out, at most ``limit`` are open at once (callers wait for one, within the connect timeout),
  idle ones are dropped after ``keepalive`` seconds or as soon as the upstream closes them;
- one :class:`UpstreamConnection` (an ``asyncio.Protocol``) per socket: the request goes out in one
  write (head and a buffered body), the answer is parsed by llhttp as it arrives;
- bodies stream both ways with flow control: reading from the upstream pauses while more than
  ``HIGH_WATER`` bytes wait for the client, streamed request bodies wait while the socket's write
  buffer is full;
- one timer per exchange: the exchange fails with ``timeout`` when nothing moved (no byte received,
  no request chunk sent) for ``timeout`` seconds, like nginx's ``proxy_read_timeout``; a client too
  slow to take the answer (reading paused) does not count;
- a connection goes back to the pool only after a complete answer that allows keep-alive;
  everything else (errors, HEAD answers, early answers while the body was still going out, answers
  delimited by closing the connection) closes it.

Failures are raised as :class:`UpstreamFailure` with a ``kind``: ``dropped`` (the connection went
away; ``answered`` says whether any byte of an answer had come), ``timeout``, ``bad_response``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl as _ssl
from collections import deque
from collections.abc import AsyncIterator

import httptools

HIGH_WATER = 256 * 1024
MAX_HEAD = 64 * 1024  # status line and headers of an answer, like nginx's proxy_buffer_size (generous)
_NO_BODY_STATUSES = frozenset({204, 304})


class UpstreamFailure(Exception):
    def __init__(self, kind: str, message: str, *, answered: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.answered = answered


class UpstreamConnection(asyncio.Protocol):
    """One keep-alive connection to an upstream; serves one exchange at a time."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.open = False
        self.active = False  # an exchange is in progress (not in the idle list)
        self.counted = True  # counts against the pool's limit
        self.idle_since = 0.0
        self.last = 0.0  # loop time of the last progress of the exchange
        self.timeout = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._write_paused = False
        self._drain: asyncio.Future[None] | None = None
        self.waiter: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_bytes = 0
        self.content_length: int | None = None
        self.chunked = False
        self.head = False  # the status line and headers are in
        self.done = False  # the whole answer is in
        self.keep_alive = False
        self.until_close = False  # the body ends when the upstream closes the connection
        self.head_only = False  # answer to HEAD: no body whatever the headers say
        self.informational = False
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.failure: UpstreamFailure | None = None
        self.received = False
        self.reading_paused = False
        self.abandoned = False  # the request body was cut short: the connection cannot be reused

    # ---- asyncio.Protocol ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.open = True
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if not self.active:  # nothing was asked: the upstream is confused, or closing; either way, drop it
            self.transport.close()  # type: ignore[union-attr]
            return
        self.received = True
        self.last = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamFailure("bad_response", "the upstream switched protocols", answered=True))
        except Exception as exc:  # llhttp errors, or ours from the callbacks
            self._fail(UpstreamFailure("bad_response", f"garbled answer: {exc}", answered=True))
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if self.active:
            if not self.done and self.failure is None:
                if self.head and self.until_close:
                    self.done = True  # the end of the connection is the end of the body
                else:
                    reason = f": {exc}" if exc else ""
                    self.failure = UpstreamFailure(
                        "dropped", f"the upstream closed the connection{reason}", answered=self.received
                    )
            self._wake()
        else:
            self.pool._forget(self)
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    # ---- httptools callbacks -------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.done:  # a second answer to one request
            raise ValueError("more than one answer")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_bytes += len(name) + len(value) + 4
        if self.head_bytes > MAX_HEAD:
            raise ValueError(f"headers over {MAX_HEAD} bytes")
        name = name.lower()
        if name == b"content-length":
            self.content_length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            self.chunked = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # 100 Continue and friends: wait for the real answer
            self.informational = True
            self.headers = []
            self.content_length = None
            self.chunked = False
            return
        self.status = status
        self.head = True
        if self.head_only:
            self.done = True  # the connection is closed afterwards: llhttp would wait for a body
        else:
            self.until_close = self.content_length is None and not self.chunked and status not in _NO_BODY_STATUSES

    def on_body(self, body: bytes) -> None:
        if self.head_only:
            return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        if self.informational:
            self.informational = False
            return
        self.done = True
        self.keep_alive = self.parser.should_keep_alive() and not self.head_only

    # ---- the exchange --------------------------------------------------------------------------------

    def start(self, head: bytes, body: bytes | None, *, timeout: float, head_only: bool = False) -> None:
        """Send the request (its head, and its body when buffered) and start the timer."""
        self._reset()
        self.active = True
        self.head_only = head_only
        self.timeout = timeout
        self.last = self.loop.time()
        self._timer = self.loop.call_at(self.last + timeout, self._on_timer)
        transport = self.transport
        assert transport is not None
        if body:
            if len(body) <= 65536:
                transport.write(head + body)
            else:
                transport.writelines((head, body))
        else:
            transport.write(head)

    async def send_stream(self, body: AsyncIterator[bytes], *, chunked: bool) -> None:
        """Stream the request body; stops early (and gives up keep-alive) if the answer comes first."""
        transport = self.transport
        assert transport is not None
        async for chunk in body:
            if self.failure is not None:
                raise self.failure
            if self.head:  # answered before the body was through: the rest is not wanted
                self.abandoned = True
                return
            transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
            self.last = self.loop.time()
            if self._write_paused and self.open:
                self._drain = self.loop.create_future()
                try:
                    await self._drain
                finally:
                    self._drain = None
                self.last = self.loop.time()
        if chunked and self.open:
            transport.write(b"0\r\n\r\n")

    async def wait(self) -> None:
        """Until something happens to the exchange (data, end, failure)."""
        waiter = self.waiter = self.loop.create_future()
        try:
            await waiter
        finally:
            self.waiter = None

    async def read_head(self) -> None:
        while not self.head:
            if self.failure is not None:
                raise self.failure
            await self.wait()

    def take(self) -> bytes:
        """Everything of the body that has arrived (and reading resumes)."""
        chunks = self.chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.chunks = []
        self.buffered = 0
        if self.reading_paused:
            self.reading_paused = False
            self.last = self.loop.time()
            if self.open:
                self.transport.resume_reading()  # type: ignore[union-attr]
        return data

    def finish(self) -> None:
        """End the exchange: back to the pool if the answer was complete and reusable, else closed."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.active = False
        self.chunks = []
        if self.open and self.done and self.keep_alive and self.failure is None and not self.abandoned:
            self.pool._release(self)
        else:
            self.close()

    def close(self) -> None:
        if self.open:
            self.open = False
            self.transport.close()  # type: ignore[union-attr]
        self.pool._forget(self)

    # ---- internals -----------------------------------------------------------------------------------

    def _on_timer(self) -> None:
        self._timer = None
        if not self.active or self.done or self.failure is not None:
            return
        now = self.loop.time()
        if self.reading_paused:  # the client is the slow one: the upstream is not to blame
            self._timer = self.loop.call_at(now + self.timeout, self._on_timer)
            return
        due = self.last + self.timeout
        if now + 0.001 < due:  # there was progress since the timer was set
            self._timer = self.loop.call_at(due, self._on_timer)
            return
        self._fail(UpstreamFailure("timeout", f"no answer from the upstream within {self.timeout:g} s"))

    def _fail(self, failure: UpstreamFailure) -> None:
        if self.failure is None:
            self.failure = failure
        if self.open:
            self.open = False
            self.transport.close()  # type: ignore[union-attr]
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class UpstreamPool:
    """Keep-alive connections to one origin."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: bool = False,
        limit: int = 512,
        keepalive: float = 30.0,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.ssl: _ssl.SSLContext | None = _ssl.create_default_context() if tls else None
        self.limit = limit
        self.keepalive = keepalive
        self.loop = loop or asyncio.get_running_loop()
        self.idle: list[UpstreamConnection] = []
        self.count = 0  # open or opening connections
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.closed = False

    async def acquire(self, connect_timeout: float) -> UpstreamConnection:
        """An idle connection, a new one, or (at the limit) the next one released.

        Raises ``TimeoutError`` when none could be had within ``connect_timeout`` and ``OSError``
        when the upstream cannot be reached.
        """
        conn = self._idle()
        if conn is not None:
            return conn
        if self.count < self.limit:
            return await self._connect(connect_timeout)
        async with asyncio.timeout(connect_timeout):
            while True:
                waiter = self.loop.create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                except BaseException:
                    if waiter.done() and not waiter.cancelled():
                        self._wake_one()  # pass the turn on
                    raise
                conn = self._idle()
                if conn is not None:
                    return conn
                if self.count < self.limit:
                    return await self._connect(None)

    def _idle(self) -> UpstreamConnection | None:
        idle = self.idle
        if not idle:
            return None
        now = self.loop.time()
        while idle:
            conn = idle.pop()
            if conn.open and now - conn.idle_since < self.keepalive:
                conn.active = True
                return conn
            conn.close()
        return None

    async def _connect(self, timeout: float | None) -> UpstreamConnection:
        if self.closed:
            raise OSError("the upstream client is closed")
        self.count += 1
        conn = UpstreamConnection(self)
        try:
            coro = self.loop.create_connection(
                lambda: conn, self.host, self.port, ssl=self.ssl, server_hostname=self.host if self.ssl else None
            )
            if timeout is None:
                await coro
            else:
                async with asyncio.timeout(timeout):
                    await coro
        except BaseException:
            conn.open = False
            self._forget(conn)
            raise
        conn.active = True
        return conn

    def _release(self, conn: UpstreamConnection) -> None:
        if self.closed:
            conn.close()
            return
        conn.idle_since = self.loop.time()
        self.idle.append(conn)
        self._wake_one()

    def _forget(self, conn: UpstreamConnection) -> None:
        if conn.counted:
            conn.counted = False
            self.count -= 1
            if conn in self.idle:
                self.idle.remove(conn)
            self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        self.closed = True
        idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()
