"""The proxy's HTTP/1.1 client (``barista_gateway.edge.upstream``) against real local upstreams.

Most tests talk to a raw asyncio server whose every byte the test decides (framing, keep-alive,
closing, stalling); one runs the same exchanges under uvloop, as the gateway serves in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import uvloop

from barista_gateway.edge.upstream import HIGH_WATER, UpstreamConnection, UpstreamFailure, UpstreamPool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class RawServer:
    """Counts connections and requests; ``handler(reader, writer, n)`` answers the n-th request."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.requests.append(head)
                await self.handler(reader, writer, len(self.requests))
                if writer.is_closing():
                    return
        finally:
            writer.close()


def request(path: str = "/", method: str = "GET", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nhost: upstream\r\n{extra}\r\n".encode()


async def fixed(answer: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        writer.write(answer)
        await writer.drain()

    return handler


async def exchange(
    pool: UpstreamPool, head: bytes, *, timeout: float = 2.0, body: bytes | None = None, head_only: bool = False
) -> tuple[UpstreamConnection, int, dict[bytes, bytes], bytes]:
    """One whole exchange: (connection, status, headers, body); the connection is finished."""
    conn = await pool.acquire(1.0)
    try:
        conn.start(head, body, timeout=timeout, head_only=head_only)
        await conn.read_head()
        while not conn.done:
            if conn.failure is not None:
                raise conn.failure
            await conn.wait()
        data = conn.take() if conn.chunks else b""
        return conn, conn.status, dict(conn.headers), data
    finally:
        conn.finish()


@pytest.fixture
async def pools() -> AsyncIterator[Callable[..., UpstreamPool]]:
    made: list[UpstreamPool] = []

    def make(port: int, **kw: object) -> UpstreamPool:
        pool = UpstreamPool("127.0.0.1", port, **kw)  # type: ignore[arg-type]
        made.append(pool)
        return pool

    yield make
    for pool in made:
        pool.close()


async def test_keep_alive_reuses_one_connection(pools):
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Thing: a\r\n\r\nhello"
    async with RawServer(await fixed(answer)) as server:
        pool = pools(server.port)
        for _ in range(5):
            _, status, headers, body = await exchange(pool, request())
            assert (status, body, headers[b"x-thing"]) == (200, b"hello", b"a")
        assert server.connections == 1
        assert len(server.requests) == 5
        assert (pool.count, len(pool.idle)) == (1, 1)


async def test_chunked_and_close_delimited_bodies(pools):
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    async with RawServer(await fixed(chunked)) as server:
        pool = pools(server.port)
        for _ in range(2):
            conn, status, headers, body = await exchange(pool, request())
            assert (status, body, conn.content_length) == (200, b"hello world", None)
            assert headers[b"transfer-encoding"] == b"chunked"
        assert server.connections == 1  # chunked answers keep the connection

    async def until_close(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it")
        await writer.drain()
        writer.close()

    async with RawServer(until_close) as server:
        pool = pools(server.port)
        for _ in range(2):
            conn, status, _, body = await exchange(pool, request())
            assert (status, body, conn.until_close) == (200, b"all of it", True)
        assert server.connections == 2  # such a connection cannot be reused
        assert pool.count == 0


async def test_answers_stream_as_they_arrive(pools):
    release = asyncio.Event()

    async def slow(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await writer.drain()
        await release.wait()
        writer.write(b"6\r\nsecond\r\n0\r\n\r\n")
        await writer.drain()

    async with RawServer(slow) as server:
        pool = pools(server.port)
        conn = await pool.acquire(1.0)
        conn.start(request(), None, timeout=2.0)
        await conn.read_head()
        while not conn.chunks:
            await conn.wait()
        assert conn.take() == b"first"
        assert not conn.done  # the rest was not even sent yet
        release.set()
        received = b""
        while not conn.done:
            await conn.wait()
            received += conn.take() if conn.chunks else b""
        assert received == b"second"
        conn.finish()
        assert len(pool.idle) == 1


async def test_flow_control_pauses_reading_while_the_client_lags(pools):
    size = 8 * 1024 * 1024

    async def big(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        block = b"x" * 65536
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()

    async with RawServer(big) as server:
        pool = pools(server.port)
        conn = await pool.acquire(1.0)
        conn.start(request(), None, timeout=2.0)
        await conn.read_head()
        await asyncio.sleep(0.3)  # a client that does not read for a while
        assert conn.reading_paused
        assert conn.buffered < HIGH_WATER + 512 * 1024  # not the whole 8 MiB
        total = 0
        while not conn.done:
            if conn.chunks:
                total += len(conn.take())
            else:
                await conn.wait()
        total += len(conn.take()) if conn.chunks else 0
        assert total == size
        conn.finish()


async def test_an_idle_connection_closed_by_the_upstream_is_not_reused(pools):
    async def once(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()  # keep-alive promised, then the upstream closes the idle connection

    async with RawServer(once) as server:
        pool = pools(server.port)
        await exchange(pool, request())
        await asyncio.sleep(0.2)
        assert pool.count == 0 and not pool.idle  # noticed, dropped
        _, status, _, body = await exchange(pool, request())
        assert (status, body) == (200, b"ok")
        assert server.connections == 2


async def test_connection_close_and_http_10_answers_close_the_connection(pools):
    answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    async with RawServer(await fixed(answer)) as server:
        pool = pools(server.port)
        conn, status, _, _ = await exchange(pool, request())
        assert status == 200 and not conn.keep_alive
        assert pool.count == 0
    async with RawServer(await fixed(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")) as server:
        pool = pools(server.port)
        conn, _, _, body = await exchange(pool, request())
        assert body == b"ok" and not conn.keep_alive and pool.count == 0


async def test_dropped_before_and_after_answering(pools):
    async def hang_up(reader, writer, n):
        writer.close()

    async with RawServer(hang_up) as server:
        with pytest.raises(UpstreamFailure) as caught:
            await exchange(pools(server.port), request())
        assert (caught.value.kind, caught.value.answered) == ("dropped", False)  # retryable when idempotent

    async def half(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly some")
        await writer.drain()
        writer.close()

    async with RawServer(half) as server:
        pool = pools(server.port)
        with pytest.raises(UpstreamFailure) as caught:
            await exchange(pool, request())
        assert (caught.value.kind, caught.value.answered) == ("dropped", True)
        assert pool.count == 0


async def test_timeouts(pools):
    async def silent(reader, writer, n):
        await asyncio.sleep(5)

    async with RawServer(silent) as server:
        pool = pools(server.port)
        started = time.monotonic()
        with pytest.raises(UpstreamFailure) as caught:
            await exchange(pool, request(), timeout=0.3)
        assert caught.value.kind == "timeout"
        assert 0.25 < time.monotonic() - started < 1.0
        assert pool.count == 0

    async def trickle(reader, writer, n):  # keeps flowing: never a timeout, however long it takes
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(6):
            await asyncio.sleep(0.1)
            writer.write(b"1\r\nx\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    async with RawServer(trickle) as server:
        _, status, _, body = await exchange(pools(server.port), request(), timeout=0.3)
        assert (status, body) == (200, b"x" * 6)

    async def stall_mid_body(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(5)

    async with RawServer(stall_mid_body) as server:
        started = time.monotonic()
        with pytest.raises(UpstreamFailure) as caught:
            await exchange(pools(server.port), request(), timeout=0.3)
        assert caught.value.kind == "timeout"
        assert time.monotonic() - started < 1.0


async def test_unreachable_and_garbled(pools, closed_port):
    with pytest.raises(ConnectionRefusedError):
        await pools(closed_port).acquire(1.0)

    async with RawServer(await fixed(b"SMTP ready\r\n\r\n")) as server:
        with pytest.raises(UpstreamFailure) as caught:
            await exchange(pools(server.port), request())
        assert caught.value.kind == "bad_response"

    two = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"
    async with RawServer(await fixed(two)) as server:  # an answer nobody asked for: the connection goes
        pool = pools(server.port)
        _, _, _, body = await exchange(pool, request())
        assert body == b"a"
        assert pool.count == 0


async def test_head_and_informational_answers(pools):
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
    async with RawServer(await fixed(head)) as server:
        pool = pools(server.port)
        _, status, headers, body = await exchange(pool, request(method="HEAD"), head_only=True)
        assert (status, body, headers[b"content-length"]) == (200, b"", b"1234")
        assert pool.count == 0  # closed: llhttp cannot know a HEAD answer has no body

    continued = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    async with RawServer(await fixed(continued)) as server:
        _, status, _, body = await exchange(pools(server.port), request(method="POST"), body=b"{}")
        assert (status, body) == (201, b"ok")


async def test_request_bodies_buffered_and_streamed(pools):
    async def echo(reader, writer, n):
        head = server.requests[-1].lower()
        if b"transfer-encoding: chunked" in head:
            body = b""
            while True:
                size = int((await reader.readline()).strip(), 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            length = int(head.split(b"content-length: ")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()

    async with RawServer(echo) as server:
        pool = pools(server.port)
        payload = bytes(range(256)) * 1000
        head = request("/echo", "PUT", f"content-length: {len(payload)}\r\n")
        _, _, _, body = await exchange(pool, head, body=payload)
        assert body == payload

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(payload), 10_000):
                yield payload[i : i + 10_000]

        conn = await pool.acquire(1.0)
        conn.start(request("/echo", "POST", "transfer-encoding: chunked\r\n"), None, timeout=2.0)
        await conn.send_stream(chunks(), chunked=True)
        await conn.read_head()
        while not conn.done:
            await conn.wait()
        assert conn.take() == payload
        conn.finish()
        assert server.connections == 1


async def test_the_pool_limit_queues_callers_within_the_connect_timeout(pools):
    async def slow(reader, writer, n):
        await asyncio.sleep(0.3)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async with RawServer(slow) as server:
        pool = pools(server.port, limit=1)
        results = await asyncio.gather(*(exchange(pool, request()) for _ in range(3)))
        assert [r[3] for r in results] == [b"ok"] * 3
        assert server.connections == 1  # the waiters got the one connection in turn

        held = await pool.acquire(1.0)
        with pytest.raises(TimeoutError):
            await pool.acquire(0.1)
        held.close()
        other = await pool.acquire(0.5)  # the slot freed by the close
        other.close()
        assert pool.count == 0


def test_the_same_exchanges_under_uvloop():
    async def scenario() -> None:
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
        async with RawServer(await fixed(answer)) as server:
            pool = UpstreamPool("127.0.0.1", server.port)
            try:
                for _ in range(3):
                    _, status, _, body = await exchange(pool, request())
                    assert (status, body) == (200, b"hello")
                assert server.connections == 1
            finally:
                pool.close()

        async def silent(reader, writer, n):
            await asyncio.sleep(5)

        async with RawServer(silent) as server:
            pool = UpstreamPool("127.0.0.1", server.port)
            with pytest.raises(UpstreamFailure) as caught:
                await exchange(pool, request(), timeout=0.2)
            assert caught.value.kind == "timeout"
            pool.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())


def test_routes_and_request_heads():
    from barista_core.contracts import GatewaySettings
    from barista_gateway.edge.proxy import RouteTable, _request_head

    settings = GatewaySettings(
        postgres_url="postgresql://db/x",
        redis_url="redis://r:6379/0",
        clickhouse_url="chdb:///tmp/x",
        routes=[
            {"prefix": "/svc/", "upstream": "http://[::1]:8081/base/", "strip_prefix": True},
            {"prefix": "/keys", "upstream": "https://keys.example", "forward_credentials": True},
        ],
    )
    table = RouteTable.from_settings(settings)
    svc = table.match("/svc/a b")
    assert svc is not None and svc.origin == (False, "::1", 8081)
    assert (svc.host_header, svc.base_path) == (b"host: [::1]:8081\r\n", b"/base")
    keys = table.match("/keys/x")
    assert keys is not None and keys.origin == (True, "keys.example", 443)
    assert keys.host_header == b"host: keys.example\r\n"

    scope = {
        "method": "GET",
        "path": "/svc/a b",
        "raw_path": b"/svc/a%20b",
        "query_string": b"q=1&r=%2F",
        "scheme": "http",
        "client": ("10.1.2.3", 5555),
        "headers": [
            (b"host", b"gw.example"),
            (b"authorization", b"Bearer secret"),
            (b"connection", b"keep-alive, x-hop"),
            (b"x-hop", b"1"),
            (b"te", b"trailers"),
            (b"expect", b"100-continue"),
            (b"x-barista-tenant", b"spoofed"),
            (b"x-forwarded-for", b"192.0.2.1"),
            (b"accept", b"application/json"),
        ],
    }
    head, length = _request_head(scope, svc, "req-1", b"x-barista-tenant: acme\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "GET /base/a%20b?q=1&r=%2F HTTP/1.1"  # the client's encoding, kept
    assert length == 0 and head.endswith(b"\r\n") and not head.endswith(b"\r\n\r\n")
    headers = [line.split(": ", 1) for line in lines[1:] if line]
    names = [name for name, _ in headers]
    assert dict(headers) == {
        "host": "[::1]:8081",
        "accept": "application/json",
        "x-forwarded-for": "192.0.2.1, 10.1.2.3",
        "x-forwarded-proto": "http",
        "x-forwarded-host": "gw.example",
        "x-request-id": "req-1",
        "x-barista-tenant": "acme",
    }
    assert len(names) == len(set(names))

    keys_head, _ = _request_head({**scope, "path": "/keys/x", "raw_path": b"/keys/x"}, keys, "req-2", b"")
    assert b"\r\nauthorization: Bearer secret\r\n" in keys_head
    assert keys_head.startswith(b"GET /keys/x?q=1&r=%2F HTTP/1.1\r\n")
