"""The reverse proxy: the route table, and forwarding over pooled keep-alive connections.

- Routes match by longest path prefix; ``strip_prefix`` drops it from the upstream path.
- Hop-by-hop headers (RFC 9110 §7.6.1, plus whatever ``Connection`` names) are removed both ways.
- Credentials are not passed upstream unless the route says so; the upstream learns the caller from
  ``X-Barista-Tenant`` / ``X-Barista-Plan`` / ``X-Barista-Features`` (clients cannot set those: any
  ``X-Barista-*`` header they send is dropped). ``X-Request-ID`` and ``X-Forwarded-*`` are set.
- Bodies stream both ways. Request bodies of idempotent methods up to 1 MiB are buffered so the
  request can be retried; other bodies stream once and are never retried.
- Retries: only idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE), only when the upstream could
  not be reached or dropped the connection before answering, with a short backoff.
- Errors: unreachable / dropped / garbled answers → 502, timeouts → 504, both as JSON. An upstream
  failing after its headers were sent cannot change the status any more: the connection is cut.

The client is :mod:`barista_gateway.edge.upstream` (asyncio protocols + httptools): the request
head is built once as bytes straight from the ASGI headers, the answer's headers pass through as
llhttp hands them over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from barista_core.contracts.gateway import GatewaySettings, RouteSpec
from barista_core.logging import get_logger
from barista_gateway.edge.upstream import UpstreamConnection, UpstreamFailure, UpstreamPool

log = get_logger(__name__)

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_HOP_BY_HOP_BYTES = frozenset(h.encode() for h in HOP_BY_HOP)
_DROPPED_RESPONSE_HEADERS = _HOP_BY_HOP_BYTES | {b"x-request-id"}
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_CREDENTIALS = frozenset({b"authorization", b"x-api-key", b"cookie"})
#: request headers the proxy sets itself (``expect``: the gateway's server already answered 100-continue)
_SET_BY_PROXY = frozenset({b"x-forwarded-proto", b"x-forwarded-host", b"x-request-id", b"expect"})
#: request headers looked at while copying (all of them handled in one branch of the copy loop)
_NOTED = _HOP_BY_HOP_BYTES | _SET_BY_PROXY | _CREDENTIALS | {b"content-length", b"host", b"x-forwarded-for"}
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_BUFFER_LIMIT = 1024 * 1024
_SMALL_RESPONSE = 256 * 1024


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    upstream: str  # base URL without trailing slash
    strip_prefix: bool
    feature: Any
    auth: bool
    connect_timeout: float
    read_timeout: float  # longest wait for the answer and between its chunks
    retries: int
    cache: bool
    cache_ttl: float | None
    forward_credentials: bool
    origin: tuple[bool, str, int]  # (tls, host, port)
    host_header: bytes  # "host: <upstream host[:port]>\r\n"
    base_path: bytes  # the upstream URL's path, without trailing slash
    prefix_bytes: bytes

    @property
    def label(self) -> str:
        return self.prefix

    def target(self, scope: MutableMapping[str, Any]) -> bytes:
        """The request target for the upstream: base path + (stripped) path + query, as sent by the client."""
        raw: bytes | None = scope.get("raw_path")
        path: str = scope["path"]
        if raw is None:
            raw = quote(path, safe=_PATH_SAFE).encode("ascii")
        if self.strip_prefix:
            if raw.startswith(self.prefix_bytes):
                raw = raw[len(self.prefix_bytes) :]
            else:  # the prefix came percent-encoded: strip it from the decoded path instead
                raw = quote(path[len(self.prefix) :], safe=_PATH_SAFE).encode("ascii")
            if not raw.startswith(b"/"):
                raw = b"/" + raw
        if self.base_path:
            raw = self.base_path + raw
        query: bytes = scope.get("query_string", b"")
        return raw + b"?" + query if query else raw


class RouteTable:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: len(r.prefix), reverse=True)

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> RouteTable:
        return cls([_route(spec, settings) for spec in settings.routes])

    def match(self, path: str) -> Route | None:
        for route in self.routes:
            prefix = route.prefix
            if path.startswith(prefix) and (
                len(path) == len(prefix) or prefix.endswith("/") or path[len(prefix)] == "/"
            ):
                return route
        return None


def _route(spec: RouteSpec, settings: GatewaySettings) -> Route:
    url = spec.upstream
    tls = url.scheme == "https"
    host = (url.host or "localhost").strip("[]")  # an IPv6 literal comes bracketed
    port = url.port or (443 if tls else 80)
    default_port = port == (443 if tls else 80)
    host_value = (f"[{host}]" if ":" in host else host) + ("" if default_port else f":{port}")
    prefix = spec.prefix.rstrip("/") or "/"
    return Route(
        prefix=prefix,
        upstream=str(url).rstrip("/"),
        strip_prefix=spec.strip_prefix,
        feature=spec.feature,
        auth=spec.auth,
        # like nginx's proxy_read_timeout: the longest wait for the answer and between its chunks (a long
        # stream is fine as long as it keeps flowing); connect covers waiting for a pooled connection too
        connect_timeout=spec.connect_timeout_seconds or settings.proxy_connect_timeout_seconds,
        read_timeout=spec.timeout_seconds or settings.proxy_timeout_seconds,
        retries=settings.proxy_retries if spec.retries is None else spec.retries,
        cache=spec.cache,
        cache_ttl=float(spec.cache_ttl_seconds) if spec.cache_ttl_seconds else None,
        forward_credentials=spec.forward_credentials,
        origin=(tls, host, port),
        host_header=b"host: " + host_value.encode("idna" if not host_value.isascii() else "ascii") + b"\r\n",
        base_path=(url.path or "").rstrip("/").encode("ascii"),
        prefix_bytes=prefix.encode("ascii"),
    )


class UpstreamError(Exception):
    """The upstream could not give an answer: ``status`` is 502 or 504."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


class Proxy:
    def __init__(self, *, max_connections: int = 512, keepalive: float = 30.0) -> None:
        self.max_connections = max_connections  # per upstream origin
        self.keepalive = keepalive
        self._pools: dict[tuple[bool, str, int], UpstreamPool] = {}
        self._started = False

    async def start(self) -> None:
        self._started = True

    async def close(self) -> None:
        self._started = False
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close()

    def _pool(self, route: Route) -> UpstreamPool:
        pool = self._pools.get(route.origin)
        if pool is None:
            assert self._started, "Proxy.start() was not called"
            tls, host, port = route.origin
            pool = self._pools[route.origin] = UpstreamPool(
                host, port, tls=tls, limit=self.max_connections, keepalive=self.keepalive
            )
        return pool

    async def forward(
        self,
        route: Route,
        scope: MutableMapping[str, Any],
        receive: Receive,
        send: Send,
        *,
        request_id: str,
        identity: bytes,
        max_body: int,
    ) -> None:
        """Forward the request; raises :class:`UpstreamError` when nothing was sent back yet."""
        method: str = scope["method"]
        head, content_length = _request_head(scope, route, request_id, identity)
        body: bytes | None = None
        stream: AsyncIterator[bytes] | None = None
        chunked = False
        attempts = 1
        if content_length == 0 and method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            head += b"\r\n"
            attempts += route.retries
        elif content_length is not None and content_length <= _BUFFER_LIMIT and method in IDEMPOTENT:
            body = await _read_body(receive, max_body)
            head += b"content-length: %d\r\n\r\n" % len(body)
            attempts += route.retries
        elif content_length is not None and content_length > max_body:
            raise RequestTooLarge(max_body)
        else:
            stream = _stream_body(receive, max_body)
            if content_length is None:
                chunked = True
                head += b"transfer-encoding: chunked\r\n\r\n"
            else:
                head += b"content-length: %d\r\n\r\n" % content_length

        pool = self._pool(route)
        for attempt in range(attempts):
            try:
                conn = await pool.acquire(route.connect_timeout)
            except TimeoutError:
                raise UpstreamError(504, "timeout", f"upstream {route.prefix} did not answer in time") from None
            except OSError as exc:
                if attempt + 1 < attempts:
                    await asyncio.sleep(0.02 * (attempt + 1))
                    continue
                raise UpstreamError(502, "unreachable", f"upstream {route.prefix} unreachable: {_why(exc)}") from None
            try:
                conn.start(head, body, timeout=route.read_timeout, head_only=method == "HEAD")
                if stream is not None:
                    await conn.send_stream(stream, chunked=chunked)
                await conn.read_head()
            except UpstreamFailure as exc:
                conn.finish()
                if exc.kind == "dropped" and not exc.answered and attempt + 1 < attempts:
                    await asyncio.sleep(0.02 * (attempt + 1))
                    continue
                raise _upstream_error(route, exc) from None
            except BaseException:
                conn.close()
                raise
            try:
                await _relay(conn, send)
            finally:
                conn.finish()
            return


def _upstream_error(route: Route, exc: UpstreamFailure) -> UpstreamError:
    if exc.kind == "timeout":
        return UpstreamError(504, "timeout", f"upstream {route.prefix} did not answer in time")
    if exc.kind == "dropped" and not exc.answered:
        return UpstreamError(502, "unreachable", f"upstream {route.prefix} unreachable: {exc.message}")
    return UpstreamError(502, "bad_response", f"upstream {route.prefix} failed: {exc.message}")


class RequestTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over {limit} bytes")
        self.limit = limit


class BodyBrokeOff(Exception):
    """The upstream failed after the status line was sent: the client connection must be cut."""


async def _relay(conn: UpstreamConnection, send: Send) -> None:
    headers = _response_headers(conn.headers)
    length = conn.content_length
    if conn.done or (length is not None and length <= _SMALL_RESPONSE):
        while not conn.done:  # a small answer is relayed whole (one write to the client)
            failure = conn.failure
            if failure is not None:
                if failure.kind == "timeout":
                    raise UpstreamError(504, "timeout", "upstream timed out while sending its answer")
                raise UpstreamError(502, "bad_response", f"upstream answer broke off: {failure.message}")
            await conn.wait()
        body = conn.take() if conn.chunks else b""
        await send({"type": "http.response.start", "status": conn.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await send({"type": "http.response.start", "status": conn.status, "headers": headers})
    while True:
        if conn.chunks:
            await send({"type": "http.response.body", "body": conn.take(), "more_body": True})
        elif conn.done:
            break
        elif conn.failure is not None:
            # the status is out: all that is left is to cut the connection so the client sees a broken body
            log.warning("upstream body broke off after the headers", error=conn.failure.message[:200])
            raise BodyBrokeOff
        else:
            await conn.wait()
    await send({"type": "http.response.body", "body": b""})


def _response_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The upstream's headers for the client (names lower-cased already), minus hop-by-hop ones and its X-Request-ID."""
    out: list[tuple[bytes, bytes]] = []
    named: set[bytes] | None = None
    for header in raw:
        name = header[0]
        if name in _DROPPED_RESPONSE_HEADERS:
            if name == b"connection":
                named = {token.strip().lower() for token in header[1].split(b",")}
            continue
        out.append(header)
    if named:
        out = [header for header in out if header[0] not in named]
    return out


def _request_head(
    scope: MutableMapping[str, Any], route: Route, request_id: str, identity: bytes
) -> tuple[bytes, int | None]:
    """The request line and headers for the upstream (without the body framing and the final CRLF).

    Returns it with the client's Content-Length (0 when the request has no body at all, None when it
    is chunked).
    """
    raw: list[tuple[bytes, bytes]] = scope["headers"]
    parts = [scope["method"].encode("ascii"), b" ", route.target(scope), b" HTTP/1.1\r\n", route.host_header]
    content_length: int | None = None
    host = forwarded_for = None
    chunked = False
    named: set[bytes] | None = None
    forward_credentials = route.forward_credentials
    for name, value in raw:  # ASGI header names are lower-case
        if name in _NOTED:
            if name == b"content-length":
                try:
                    content_length = int(value)
                except ValueError:
                    content_length = None
            elif name == b"transfer-encoding":
                chunked = chunked or b"chunked" in value.lower()
            elif name == b"host":
                host = value
            elif name == b"x-forwarded-for":
                forwarded_for = value
            elif name == b"connection":
                named = (named or set()) | {t.strip().lower() for t in value.split(b",")}
            elif name in _CREDENTIALS and forward_credentials:
                parts += (name, b": ", value, b"\r\n")
            continue
        if name.startswith(b"x-barista-"):
            continue
        parts += (name, b": ", value, b"\r\n")
    if named:
        parts = parts[:5] + _without(parts[5:], named)
    client = scope.get("client")
    client_ip = client[0].encode("latin-1") if client else b""
    parts += (
        b"x-forwarded-for: ",
        forwarded_for + b", " + client_ip if forwarded_for else client_ip,
        b"\r\nx-forwarded-proto: ",
        scope.get("scheme", "http").encode("latin-1"),
        b"\r\n",
    )
    if host:
        parts += (b"x-forwarded-host: ", host, b"\r\n")
    parts += (b"x-request-id: ", request_id.encode("ascii"), b"\r\n", identity)
    if content_length is None and not chunked:
        content_length = 0
    return b"".join(parts), content_length


def _without(parts: list[bytes], named: set[bytes]) -> list[bytes]:
    """Header parts (name, ": ", value, CRLF quadruples) minus those ``Connection`` named."""
    out: list[bytes] = []
    for i in range(0, len(parts), 4):
        if parts[i] not in named:
            out += parts[i : i + 4]
    return out


async def _read_body(receive: Receive, limit: int) -> bytes:
    return b"".join([chunk async for chunk in _stream_body(receive, limit)])


async def _stream_body(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(limit)
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def _why(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:200]
