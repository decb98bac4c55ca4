"""The benchmark's lean load generator (scripts/lean_grpc_load.py) against a real grpc.aio server.

Its figures are only as good as its HTTP/2: every request must arrive whole and unaltered (bodies far larger
than the initial flow-control windows and frame size among them), the metadata must reach the handler, a
call the server fails must count as failed, and the concurrency and schedule must be the ones asked for.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from lean_grpc_load import CallLoad, hpack_int, run_load

PATH = "/bench.Echo/Call"


class Echo:
    """Answers each call with the SHA-256 of its request; fails calls without the right key."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.received: list[bytes] = []
        self.in_flight = self.most_in_flight = 0

    async def call(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        if dict(context.invocation_metadata()).get("x-api-key") != "secret":
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "wrong key")
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        self.received.append(request)
        return hashlib.sha256(request).digest()


async def serve(echo: Echo, *options: tuple[str, int]) -> AsyncIterator[int]:
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 16 * 1024 * 1024), *options])
    handler = grpc.unary_unary_rpc_method_handler(echo.call, request_deserializer=None, response_serializer=None)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Echo", {"Call": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield port
    finally:
        await server.stop(None)


async def bounded(*args: Any, **kwargs: Any) -> CallLoad:
    async with asyncio.timeout(30):  # a generator that breaks the protocol tends to stall, not to fail
        return await run_load(*args, **kwargs)


def test_hpack_integers_follow_rfc_7541() -> None:
    # RFC 7541 C.1.1 to C.1.3: 10 in a 5-bit prefix, 1337 in a 5-bit prefix, 42 in an 8-bit prefix
    assert hpack_int(10, 5) == b"\x0a"
    assert hpack_int(1337, 5) == b"\x1f\x9a\x0a"
    assert hpack_int(42, 8) == b"\x2a"


async def test_large_bodies_arrive_whole_within_the_flow_control_windows() -> None:
    echo = Echo()
    # larger than the 65,535-byte initial windows and the 16,384-byte default frame, odd sizes included
    bodies = [bytes([i]) * size for i, size in enumerate((1, 70_000, 300_001, 1_048_576, 16_384, 5))]
    answers: dict[int, bytes] = {}
    # windows kept small (no BDP growth): sending beyond them is a protocol error the server answers with RST_STREAM
    async for port in serve(echo, ("grpc.http2.lookahead_bytes", 16_384), ("grpc.http2.bdp_probe", 0)):
        load = await bounded("127.0.0.1", port, PATH, bodies, mode="closed", concurrency=3,
                              metadata=[("x-api-key", "secret")],
                              on_response=lambda index, message: answers.__setitem__(index, message))  # fmt: skip
    assert (load.calls, load.failures) == (len(bodies), 0)
    assert sorted(echo.received) == sorted(bodies)
    assert answers == {i: hashlib.sha256(body).digest() for i, body in enumerate(bodies)}


async def test_calls_the_server_fails_are_counted_as_failures() -> None:
    echo = Echo()
    answered: list[int] = []
    async for port in serve(echo):
        load = await bounded("127.0.0.1", port, PATH, [b"a", b"b", b"c"], mode="closed", concurrency=2,
                              metadata=[("x-api-key", "wrong")],
                              on_response=lambda index, message: answered.append(index))  # fmt: skip
    assert (load.calls, load.failures, answered, echo.received) == (0, 3, [], [])


async def test_closed_mode_keeps_the_concurrency_asked_for() -> None:
    echo = Echo(delay=0.05)  # long enough for all four to be in the handler at once on a busy machine
    async for port in serve(echo):
        load = await bounded("127.0.0.1", port, PATH, [b"x%d" % i for i in range(40)], mode="closed",
                              concurrency=4, metadata=[("x-api-key", "secret")])  # fmt: skip
    assert (load.calls, load.failures) == (40, 0)
    assert echo.most_in_flight == 4


async def test_duration_mode_cycles_through_the_bodies_until_the_time_is_up() -> None:
    echo = Echo(delay=0.005)
    loop = asyncio.get_running_loop()
    async for port in serve(echo):
        started = loop.time()
        load = await bounded("127.0.0.1", port, PATH, [b"a", b"b"], mode="duration", concurrency=2, duration=0.5,
                              metadata=[("x-api-key", "secret")])  # fmt: skip
        elapsed = loop.time() - started
    assert load.failures == 0
    assert load.calls > 4  # more calls than bodies: it went round
    assert set(echo.received) == {b"a", b"b"}
    assert 0.5 <= elapsed < 3.0


async def test_rate_mode_sends_on_schedule() -> None:
    echo = Echo()
    async for port in serve(echo):
        load = await bounded("127.0.0.1", port, PATH, [b"r%d" % i for i in range(10)], mode="rate", rate=50.0,
                              metadata=[("x-api-key", "secret")])  # fmt: skip
    assert (load.calls, load.failures) == (10, 0)
    sent = [load.sent_at[i] for i in range(10)]
    # open loop: call i leaves at the start + i * 20 ms, never before; a busy machine may make one late, and
    # the next keeps its own time (so gaps between neighbours say nothing)
    early = [i for i in range(10) if sent[i] - sent[0] < i / 50.0 - 0.002]
    assert not early, [round(t - sent[0], 4) for t in sent]
    assert 0.18 - 0.002 <= sent[-1] - sent[0] < 1.0
