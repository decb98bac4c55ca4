"""The gateway's HTTP/1.1 server on real sockets, byte by byte: framing, keep-alive, pipelining, bodies,
limits, failures, lifespan and graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from barista_gateway.httpserver import BODY_HIGH_WATER, HttpServer

pytestmark = pytest.mark.asyncio
SEEN: dict[str, Any] = {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A test app whose behaviour the request path chooses."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["started"] = True
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if path == "/echo":  # the whole request body back, and what the scope said
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-len", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/no-content":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b"ignored"})
    elif path == "/boom":
        raise RuntimeError("the app failed before answering")
    elif path == "/boom-midway":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("the app failed while answering")
    elif path == "/silent":
        return
    elif path == "/bad-header":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-evil", b"a\r\nset-cookie: x=1")]})
    elif path == "/short":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": b"12345"})
    elif path == "/slow":
        await asyncio.sleep(0.3)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"finished"})
    elif path == "/wait-disconnect":
        message = await receive()
        assert message["type"] == "http.request"
        SEEN["disconnect"] = await receive()
    else:
        text = f"{scope['method']} {scope['path']} {scope['raw_path'].decode()} {scope['query_string'].decode()}"
        body = f"{text} {scope['http_version']} state={scope.get('state')}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def serving(**options: Any) -> AsyncIterator[HttpServer]:
    server = HttpServer(app, host="127.0.0.1", port=0, **{"lifespan": False, "graceful_timeout": 5, **options})
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown()
        await Conn.close_all()


class Conn:
    """A raw client connection reading answers as HTTP/1.1 frames them."""

    opened: list[Conn] = []

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        Conn.opened.append(self)

    @classmethod
    async def close_all(cls) -> None:
        for conn in cls.opened:
            conn.writer.close()
            with contextlib.suppress(OSError):
                await conn.writer.wait_closed()
        cls.opened.clear()

    @classmethod
    async def open(cls, server: HttpServer) -> Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", server.bound_port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self, *, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                assert name.lower() not in headers, f"{name} twice"
                headers[name.lower()] = value.strip()
        if head_only or status in (100, 204, 304):
            return status, headers, b""
        if "content-length" in headers:
            body = await asyncio.wait_for(self.reader.readexactly(int(headers["content-length"])), 5)
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = await asyncio.wait_for(self.reader.read(), 5)  # ends with the connection
        return status, headers, body

    async def closed(self) -> bool:
        try:
            return await asyncio.wait_for(self.reader.read(1), 5) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.writer.close()


async def test_keep_alive_serves_several_requests_on_one_connection_with_content_length() -> None:
    async with serving() as server:
        conn = await Conn.open(server)
        for n in range(3):
            await conn.send(f"GET /p/%41{n}?q=1 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            status, headers, body = await conn.answer()
            assert status == 200
            assert body == f"GET /p/A{n} /p/%41{n} q=1 1.1 state=None".encode()
            assert headers["content-length"] == str(len(body))
            assert "connection" not in headers
        await conn.send(b"GET /caf%C3%A9/%2F HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await conn.answer())[2].startswith("GET /café// /caf%C3%A9/%2F".encode())
        conn.close()
        assert server.requests == 4


async def test_pipelined_requests_are_answered_in_order() -> None:
    async with serving() as server:
        conn = await Conn.open(server)
        await conn.send(
            b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            b"GET /last HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        assert (await conn.answer())[2] == b"finished"
        assert (await conn.answer())[2] == b"hello"
        assert (await conn.answer())[2].startswith(b"GET /last")
        conn.close()


async def test_streamed_answer_is_chunked_in_http_1_1_and_ends_with_the_connection_in_1_0() -> None:
    async with serving() as server:
        conn = await Conn.open(server)
        await conn.send(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        _, headers, body = await conn.answer()
        assert (headers["transfer-encoding"], body) == ("chunked", b"one,two,three")
        conn.close()

        conn = await Conn.open(server)
        await conn.send(b"GET /stream HTTP/1.0\r\n\r\n")
        _, headers, body = await conn.answer()
        assert headers["connection"] == "close" and "transfer-encoding" not in headers
        assert body == b"one,two,three"


async def test_chunked_and_large_request_bodies_reach_the_app_whole() -> None:
    async with serving() as server:
        conn = await Conn.open(server)
        head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        await conn.send(head + b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        assert (await conn.answer())[2] == b"hello world"
        conn.close()
        big = bytes(range(256)) * (BODY_HIGH_WATER // 64)  # 16 times the high-water mark: reading pauses and resumes
        async with httpx.AsyncClient() as client:
            response = await client.post(f"http://127.0.0.1:{server.bound_port}/echo", content=big)
        assert response.headers["x-len"] == str(len(big)) and response.content == big


async def test_head_and_204_carry_no_body() -> None:
    async with serving() as server:
        conn = await Conn.open(server)
        await conn.send(b"HEAD /anything HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, _ = await conn.answer(head_only=True)
        assert status == 200
        await conn.send(b"GET /no-content HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, _ = await conn.answer()
        assert status == 204 and "content-length" not in headers
        await conn.send(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")  # framing intact: the next answer parses
        assert (await conn.answer())[2].startswith(b"GET /after")
        conn.close()


async def test_expect_100_continue_is_answered_when_the_app_reads_the_body() -> None:
    async with serving() as server:
        conn = await Conn.open(server)
        await conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        assert (await conn.answer())[0] == 100
        await conn.send(b"data")
        assert (await conn.answer())[2] == b"data"
        conn.close()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    ],
    ids=["not-http", "length-and-chunked", "head-too-large"],
)
async def test_bad_requests_are_refused_and_the_connection_closed(request_bytes: bytes, status: int) -> None:
    async with serving() as server:
        conn = await Conn.open(server)
        await conn.send(request_bytes)
        answer = await conn.answer()
        assert answer[0] == status and answer[1]["connection"] == "close"
        assert await conn.closed()


@pytest.mark.parametrize("path", ["/boom", "/silent", "/bad-header"])
async def test_an_app_that_fails_before_answering_gets_a_500(path: str) -> None:
    async with serving() as server:
        conn = await Conn.open(server)
        await conn.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        status, _, body = await conn.answer()
        assert status == 500 and b"set-cookie" not in body
        assert await conn.closed()


@pytest.mark.parametrize("path", ["/boom-midway", "/short"])
async def test_an_answer_broken_midway_closes_the_connection(path: str) -> None:
    async with serving() as server:
        conn = await Conn.open(server)
        await conn.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = await asyncio.wait_for(conn.reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200")
        rest = await asyncio.wait_for(conn.reader.read(), 5)  # whatever came, then the close
        assert b"HTTP/1.1" not in rest


async def test_connection_close_idle_keep_alive_and_stalled_requests_end_the_connection() -> None:
    async with serving(keep_alive_timeout=0.3) as server:
        conn = await Conn.open(server)
        await conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await conn.answer())[1]["connection"] == "close"
        assert await conn.closed()

        idle = await Conn.open(server)
        await idle.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await idle.answer()
        assert await idle.closed()  # after ~0.3 s without a request

        slow_head = await Conn.open(server)
        await slow_head.send(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        assert await slow_head.closed()

        stalled_body = await Conn.open(server)
        await stalled_body.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")  # 7 short
        assert await stalled_body.closed()


async def test_the_app_hears_of_a_client_that_went_away() -> None:
    async with serving() as server:
        SEEN.clear()
        conn = await Conn.open(server)
        await conn.send(b"POST /wait-disconnect HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")
        await asyncio.sleep(0.1)
        conn.close()
        for _ in range(100):
            if "disconnect" in SEEN:
                break
            await asyncio.sleep(0.02)
        assert SEEN["disconnect"] == {"type": "http.disconnect"}


async def test_lifespan_runs_and_its_state_reaches_requests() -> None:
    async with serving(lifespan=True) as server:
        conn = await Conn.open(server)
        await conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await conn.answer())[2].endswith(b"state={'started': True}")
        conn.close()


async def test_lifespan_startup_failure_stops_the_start() -> None:
    async def failing(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    with pytest.raises(RuntimeError, match="no database"):
        await HttpServer(failing, port=0).start()


async def test_graceful_shutdown_finishes_answers_in_hand_and_refuses_new_connections() -> None:
    server = HttpServer(app, host="127.0.0.1", port=0, lifespan=False, graceful_timeout=5)
    await server.start()
    port = server.bound_port
    conn = await Conn.open(server)
    await conn.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    await asyncio.sleep(0.05)
    idle = await Conn.open(server)
    shutdown = asyncio.create_task(server.shutdown())
    status, headers, body = await conn.answer()
    assert (status, body, headers["connection"]) == (200, b"finished", "close")
    assert await idle.closed()
    await shutdown
    await Conn.close_all()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
