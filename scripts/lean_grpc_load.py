"""A lean gRPC load generator: unary calls written as raw HTTP/2 frames (RFC 9113) on one connection.

The benchmark's load generator shares the machine's two cores with the servers it measures. grpc.aio's
client spends ~300 µs of CPU on a one-event call here and ~1.6 ms on a 500-event one, about what the
server under test spends; this one spends a few tens of µs, as h2load or ghz would, so the servers get the
CPU. Each request's frames are built from bytes prepared once (only the stream id changes). Headers are
HPACK literals without indexing, so no encoder state is kept; data respects the server's flow-control
windows and frame size. Responses are read without HPACK decoding: a call succeeded when its stream
carried a response message (gRPC ends a failed call with trailers only), and each message is handed to
the caller to check.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable, Sequence

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x8
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE = 0x2, 0x3, 0x4, 0x5
DEFAULT_WINDOW, DEFAULT_FRAME = 65_535, 16_384
MAX_WINDOW = 2**31 - 1
FRAME_HEADER = struct.Struct(">HBBBI")  # 24-bit length as (high 16, low 8), type, flags, stream id


def frame_header(kind: int, flags: int, stream: int, size: int) -> bytes:
    return FRAME_HEADER.pack(size >> 8, size & 0xFF, kind, flags, stream)


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return frame_header(kind, flags, stream, len(payload)) + payload


def hpack_int(value: int, prefix_bits: int, first: int = 0) -> bytes:
    """An HPACK integer (RFC 7541 §5.1) in a ``prefix_bits`` prefix, OR-ed into ``first``."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out, value = bytearray([first | limit]), value - limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_string(text: str) -> bytes:
    raw = text.encode()
    return hpack_int(len(raw), 7) + raw  # no Huffman coding


def request_headers(authority: str, path: str, metadata: Sequence[tuple[str, str]]) -> bytes:
    """The header block of a gRPC call: static-table entries where RFC 7541 has them, literals otherwise."""
    block = bytearray(b"\x83\x86")  # :method POST, :scheme http (static table 3 and 6)
    block += hpack_int(4, 4) + hpack_string(path)  # :path, a literal without indexing, name = static 4
    block += hpack_int(1, 4) + hpack_string(authority)  # :authority = static 1
    block += hpack_int(31, 4) + hpack_string("application/grpc")  # content-type = static 31
    for name, value in (("te", "trailers"), *metadata):
        block += b"\x00" + hpack_string(name) + hpack_string(value)  # literal without indexing, new name
    return bytes(block)


class CallLoad(asyncio.Protocol):
    """Unary calls on one HTTP/2 connection.

    With ``next_index``, calls start whenever fewer than ``concurrency`` are in flight, with the request it
    names, until it returns None. Without it, the caller starts each call (:meth:`start`) and says when it
    is through (:meth:`exhaust`). ``done`` resolves once no call will start and the last one has its
    answer; ``on_response(index, message)`` gets each answer's message.
    """

    def __init__(self, header_block: bytes, bodies: Sequence[bytes], *, on_response: Callable[[int, bytes], None],
                 concurrency: int = 0, next_index: Callable[[], int | None] | None = None) -> None:  # fmt: skip
        self.header_block = header_block
        self.messages = [b"\x00" + struct.pack(">I", len(body)) + body for body in bodies]
        self.concurrency, self.next_index, self.on_response = concurrency, next_index, on_response
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.buffer = bytearray()
        self.next_stream = 1
        self.in_flight: dict[int, int] = {}  # stream id → request index
        self.answers: dict[int, bytes] = {}
        self.sending: dict[int, memoryview] = {}  # stream id → request bytes not yet sent
        self.stream_windows: dict[int, int] = {}
        self.send_window, self.initial_window, self.max_frame = DEFAULT_WINDOW, DEFAULT_WINDOW, DEFAULT_FRAME
        self.max_streams = MAX_WINDOW
        self.exhausted = False
        self.calls = self.failures = 0
        self.sent_at: dict[int, float] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        settings = struct.pack(">HIHI", ENABLE_PUSH, 0, INITIAL_WINDOW_SIZE, MAX_WINDOW)
        # the answers are small next to a run: open our receive windows once and never send WINDOW_UPDATE
        transport.write(PREFACE + frame(SETTINGS, 0, 0, settings)
                        + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", MAX_WINDOW - DEFAULT_WINDOW)))  # fmt: skip

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"the server closed the connection: {exc}"))

    def start(self, index: int) -> None:
        """Start the call of request ``index`` now (its data goes out as the windows allow)."""
        stream = self.next_stream
        self.next_stream += 2
        self.in_flight[stream] = index
        self.sent_at[index] = time.time()
        self.sending[stream] = memoryview(self.messages[index])
        self.stream_windows[stream] = self.initial_window
        self.transport.write(frame(HEADERS, END_HEADERS, stream, self.header_block))

    def exhaust(self) -> None:
        """No call will be started after the ones in flight."""
        self.exhausted = True
        self._check_done()

    def fill(self) -> None:
        """Start calls up to ``concurrency`` in flight, then send what the windows allow."""
        while self.next_index and not self.exhausted and len(self.in_flight) < min(self.concurrency, self.max_streams):
            index = self.next_index()
            if index is None:
                self.exhausted = True
                break
            self.start(index)
        self.pump()
        self._check_done()

    def pump(self) -> None:
        out = bytearray()
        for stream in list(self.sending):
            if self.send_window <= 0:
                break
            view, window = self.sending[stream], self.stream_windows[stream]
            while view and window > 0 and self.send_window > 0:
                size = min(len(view), window, self.send_window, self.max_frame)
                out += frame_header(DATA, END_STREAM if size == len(view) else 0, stream, size)
                out += view[:size]
                view, window, self.send_window = view[size:], window - size, self.send_window - size
            if view:
                self.sending[stream], self.stream_windows[stream] = view, window
            else:
                del self.sending[stream], self.stream_windows[stream]
        if out:
            self.transport.write(out)

    def _check_done(self) -> None:
        if self.exhausted and not self.in_flight and not self.done.done():
            self.done.set_result(None)

    def _finish(self, stream: int, ok: bool) -> None:
        index = self.in_flight.pop(stream, None)
        if index is None:
            return
        answer = self.answers.pop(stream, None)
        self.sending.pop(stream, None)
        self.stream_windows.pop(stream, None)
        if ok and answer is not None:
            self.calls += 1
            self.on_response(index, answer[5:])
        else:
            self.failures += 1

    def _settings(self, payload: bytes) -> None:
        for at in range(0, len(payload), 6):
            key, value = struct.unpack_from(">HI", payload, at)
            if key == INITIAL_WINDOW_SIZE:
                delta, self.initial_window = value - self.initial_window, value
                for stream in self.stream_windows:
                    self.stream_windows[stream] += delta
            elif key == MAX_FRAME_SIZE:
                self.max_frame = value
            elif key == MAX_CONCURRENT_STREAMS:
                self.max_streams = value

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        offset, reply = 0, bytearray()
        while len(buffer) - offset >= 9:
            high, low, kind, flags, stream = FRAME_HEADER.unpack_from(buffer, offset)
            size, stream = (high << 8) | low, stream & MAX_WINDOW
            if len(buffer) - offset - 9 < size:
                break
            payload = bytes(buffer[offset + 9 : offset + 9 + size])
            offset += 9 + size
            if kind == DATA:
                if payload:
                    self.answers[stream] = self.answers.get(stream, b"") + payload
                if flags & END_STREAM:
                    self._finish(stream, False)  # a gRPC answer ends with trailers, not with data
            elif kind == HEADERS:
                if flags & END_STREAM:
                    self._finish(stream, True)
            elif kind == RST_STREAM:
                self._finish(stream, False)
            elif kind == SETTINGS and not flags & ACK:
                self._settings(payload)
                reply += frame(SETTINGS, ACK, 0)
            elif kind == PING and not flags & ACK:
                reply += frame(PING, ACK, 0, payload)
            elif kind == WINDOW_UPDATE:
                increment = struct.unpack(">I", payload)[0] & MAX_WINDOW
                if stream == 0:
                    self.send_window += increment
                elif stream in self.stream_windows:
                    self.stream_windows[stream] += increment
            elif kind == GOAWAY:
                self.transport.close()
        del buffer[:offset]
        if reply:
            self.transport.write(reply)
        self.fill()


async def run_load(host: str, port: int, path: str, bodies: Sequence[bytes], *, mode: str, concurrency: int = 8,
                   rate: float = 0.0, duration: float = 0.0, metadata: Sequence[tuple[str, str]] = (),
                   on_response: Callable[[int, bytes], None] = lambda index, message: None,
                   ) -> CallLoad:  # fmt: skip
    """Calls of ``path`` with ``bodies`` (serialised requests), as the benchmark's load generator runs them:

    - ``closed``: each body once, ``concurrency`` calls in flight;
    - ``duration``: cycling through the bodies for ``duration`` seconds, ``concurrency`` in flight;
    - ``rate``: each body once, call *i* leaving at start + *i* / ``rate`` (open loop).

    Returns the finished :class:`CallLoad` (``calls``, ``failures``, ``sent_at``).
    """
    loop = asyncio.get_running_loop()
    started = 0.0  # set once connected: the schedule and the duration count from there
    counter = iter(range(len(bodies)) if mode == "closed" else range(2**62))

    def next_index() -> int | None:
        if mode == "duration" and time.time() >= started + duration:
            return None
        index = next(counter, None)
        return None if index is None else index % len(bodies)

    header_block = request_headers(f"{host}:{port}", path, metadata)
    transport, load = await loop.create_connection(
        lambda: CallLoad(header_block, bodies, on_response=on_response, concurrency=concurrency,
                         next_index=None if mode == "rate" else next_index),
        host, port,
    )  # fmt: skip
    started = time.time()
    try:
        if mode == "rate":
            for index in range(len(bodies)):
                delay = started + index / rate - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                load.start(index)
                load.pump()
            load.exhaust()
        else:
            load.fill()
        await load.done
    finally:
        transport.close()
    return load
