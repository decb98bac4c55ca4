"""The edge ASGI app: every HTTP request of the gateway passes here first (see the package docstring)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from itertools import count
from typing import Any

from redis.exceptions import RedisError

from barista_core.auth.verifier import AuthError, Principal
from barista_core.logging import get_logger
from barista_core.metrics import render_metrics
from barista_core.plans import minimum_plan_for
from barista_core.ratelimit import RateDecision
from barista_core.tuning import freeze_startup, tune_gc
from barista_gateway.edge.cache import CachedResponse, canonical_query, request_directives, response_ttl
from barista_gateway.edge.proxy import BodyBrokeOff, RequestTooLarge, Route, UpstreamError
from barista_gateway.edge.respond import send_error, send_json
from barista_gateway.gates import api_cacheable, api_feature
from barista_gateway.gateway import Gateway

log = get_logger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Answered without a credential. /healthz, /readyz and /metrics by the edge itself, the rest by the API.
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/.well-known/jwks.json",
        "/docs",
        "/redoc",
        "/openapi.json",
        "/docs/oauth2-redirect",
    }
)
_REQUEST_ID_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
_WWW_AUTHENTICATE = (b"www-authenticate", b'Bearer realm="barista"')
_PERIOD = 60.0  # api_requests_per_minute
_GC_GEN0_THRESHOLD = 10_000


class _Responder:
    """Wraps ``send``: adds the edge's headers, records the status, optionally captures the answer."""

    __slots__ = ("capture", "chunks", "extra", "headers", "limit", "send", "size", "started", "status")

    def __init__(self, send: Send, extra: list[tuple[bytes, bytes]], capture: bool, limit: int) -> None:
        self.send = send
        self.extra = extra
        self.capture = capture
        self.limit = limit
        self.status = 0
        self.started = False
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.size = 0

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.started = True
            headers = list(message.get("headers", ()))
            if self.capture:
                self.headers = headers
            message["headers"] = headers + self.extra
        elif self.capture and message["type"] == "http.response.body":
            body = message.get("body", b"")
            self.size += len(body)
            if self.size > self.limit:
                self.capture = False
                self.chunks = []
            else:
                self.chunks.append(body)
        await self.send(message)

    def captured(self, route: str, ttl: float | None) -> CachedResponse | None:
        if not self.capture or not self.started:
            return None
        now = time.time()
        return CachedResponse(self.status, self.headers, b"".join(self.chunks), now, now + (ttl or 0.0), route)


class Edge:
    def __init__(self, gateway: Gateway, api: ASGIApp, *, manage_lifespan: bool = True) -> None:
        self.gw = gateway
        self.api = api
        self.manage_lifespan = manage_lifespan
        self._ids = count(1)
        self._id_prefix = os.urandom(4).hex() + "-"
        self._auth_failures: dict[str, Any] = {}
        self._identity: dict[int, tuple[Any, bytes]] = {}
        self._rate_limited = gateway.metrics.rate_limited.labels("api_requests_per_minute")
        self._api_route_label = "unmatched"

    # ---- ASGI entry ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self.manage_lifespan:
                await self._lifespan(receive, send)
                return
            await self.api(scope, receive, send)
            return
        started = time.perf_counter()
        outcome = _Outcome()
        try:
            await self._serve(scope, receive, send, outcome)
        finally:
            elapsed = time.perf_counter() - started
            gw = self.gw
            gw.metrics.observe(outcome.route, scope["method"], outcome.status, elapsed)
            if gw.access_log.enabled:
                gw.access_log.write(
                    {
                        "request_id": outcome.request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "query": _loggable_query(scope.get("query_string", b"")),
                        "status": outcome.status,
                        "ms": round(elapsed * 1000, 3),
                        "route": outcome.route,
                        "tenant": outcome.tenant,
                        "auth": outcome.auth,
                        "cache": outcome.cache,
                        "client": (scope.get("client") or ("", 0))[0],
                    }
                )

    async def _serve(self, scope: Scope, receive: Receive, send: Send, outcome: _Outcome) -> None:
        gw = self.gw
        path: str = scope["path"]
        authorization = api_key = incoming_id = cache_control = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"x-api-key":
                api_key = value
            elif name == b"x-request-id":
                incoming_id = value
            elif name == b"cache-control":
                cache_control = value
        request_id = self._request_id(incoming_id)
        outcome.request_id = request_id
        scope["barista.request_id"] = request_id

        if path in PUBLIC_PATHS:
            outcome.route = path
            await self._public(path, scope, receive, send, outcome, request_id)
            return
        route = gw.routes.match(path) if gw.routes.routes else None
        if route is not None and not route.auth:
            outcome.route = route.label
            await self._proxy(route, scope, receive, send, outcome, request_id, None, [])
            return

        # ---- who is calling (the tenant comes from the credential, never from the request) ----------
        try:
            principal = await gw.verifier.authenticate(
                authorization.decode("latin-1") if authorization is not None else None,
                api_key.decode("latin-1") if api_key is not None else None,
            )
        except AuthError as exc:
            outcome.status = exc.status
            outcome.auth = exc.code
            self._count_auth_failure(exc.code)
            extra = [_WWW_AUTHENTICATE] if exc.status == 401 else []
            await send_error(send, exc.status, exc.code, exc.message, request_id, extra)
            return
        tenant = principal.tenant
        outcome.tenant = tenant.name
        outcome.auth = principal.kind

        # ---- per-tenant rate limit from the plan ---------------------------------------------------
        try:
            decision = await gw.leases.acquire(
                "api:" + tenant.name, rate=tenant.limits.api_requests_per_minute, period=_PERIOD
            )
        except (RedisError, OSError) as exc:
            outcome.status = 503
            log.warning("rate limiter unavailable", error=str(exc)[:200])
            await send_error(
                send, 503, "rate_limiter_unavailable", "try again shortly", request_id, [(b"retry-after", b"1")]
            )
            return
        limit_headers = decision.headers(_PERIOD)
        if not decision.allowed:
            outcome.status = 429
            self._rate_limited.inc()
            await send_error(
                send,
                429,
                "rate_limited",
                f"over {decision.limit} requests per minute of plan {tenant.plan.value}; retry after "
                f"{limit_headers[-1][1].decode()} s",
                request_id,
                limit_headers,
                limit="api_requests_per_minute",
            )
            return
        gw.usage.add(tenant.name, "requests")

        # ---- feature gate (before the cache: a downgraded plan must not be answered from it) --------
        feature = route.feature if route is not None else api_feature(path)
        if feature is not None and feature not in tenant.features:
            outcome.status = 403
            gw.metrics.feature_denied.labels(feature.value).inc()
            required = minimum_plan_for(feature)
            await send_error(
                send,
                403,
                "feature_not_in_plan",
                f"{feature.value} is not part of plan {tenant.plan.value}; it comes with plan {required.value}",
                request_id,
                limit_headers,
                feature=feature.value,
                plan=tenant.plan.value,
                required_plan=required.value,
            )
            return

        # ---- cache ----------------------------------------------------------------------------------
        if scope["method"] == "GET" and (route.cache if route is not None else api_cacheable(path)):
            await self._cached(
                scope, receive, send, outcome, request_id, principal, route, limit_headers, cache_control
            )
            return
        await self._dispatch(scope, receive, send, outcome, request_id, principal, route, limit_headers, False)

    # ---- the cache path -------------------------------------------------------------------------------

    async def _cached(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        outcome: _Outcome,
        request_id: str,
        principal: Principal,
        route: Route | None,
        limit_headers: list[tuple[bytes, bytes]],
        cache_control: bytes | None,
    ) -> None:
        cache = self.gw.cache
        tenant = principal.tenant.name
        query = scope.get("query_string", b"")
        key = scope["path"] + "?" + canonical_query(query) if query else scope["path"]
        lookup, store = request_directives(cache_control)
        if not lookup and not store:
            outcome.cache = "bypass"
            await self._dispatch(scope, receive, send, outcome, request_id, principal, route, limit_headers, False)
            return
        l1_generation = cache.local_generation(tenant)
        if lookup:
            hit = cache.get_l1(tenant, key)
            if hit is not None:
                await self._answer(send, hit, outcome, request_id, limit_headers, "HIT-L1")
                return
            flight = cache.join_flight(tenant, key)
            if flight is not None:
                shared = await flight
                if shared is not None:
                    await self._answer(send, shared, outcome, request_id, limit_headers, "HIT-FLIGHT")
                    return
        future = cache.lead_flight(tenant, key) if lookup else None
        result: CachedResponse | None = None
        try:
            if lookup:
                hit, l2_generation = await cache.get_l2(tenant, key, l1_generation=l1_generation)
                if hit is not None:
                    result = hit
                    await self._answer(send, hit, outcome, request_id, limit_headers, "HIT-L2")
                    return
            else:
                l2_generation = await self._generation(tenant)
            outcome.cache = "MISS"
            responder = await self._dispatch(
                scope,
                receive,
                send,
                outcome,
                request_id,
                principal,
                route,
                limit_headers,
                True,
                extra=[(b"x-cache", b"MISS")],
            )
            if responder is None:
                return
            ttl = None
            if responder.status == 200:
                default = route.cache_ttl if route is not None else None
                ttl = response_ttl(responder.headers, default=default, max_ttl=cache.max_ttl)
            result = responder.captured(outcome.route, ttl)
            if result is not None and ttl and store:
                await cache.store(tenant, key, result, l1_generation=l1_generation, l2_generation=l2_generation)
        finally:
            if future is not None:
                cache.land_flight(tenant, key, result)

    async def _generation(self, tenant: str) -> str:
        try:
            value = await self.gw.redis.get(self.gw.cache._gen_key(tenant))  # type: ignore[union-attr]
        except (RedisError, OSError):
            return "unavailable"
        return value.decode() if value else "0"

    async def _answer(
        self,
        send: Send,
        cached: CachedResponse,
        outcome: _Outcome,
        request_id: str,
        limit_headers: list[tuple[bytes, bytes]],
        how: str,
    ) -> None:
        outcome.status = cached.status
        outcome.route = cached.route
        outcome.cache = how
        age = max(0, int(time.time() - cached.stored_at))
        await send(
            {
                "type": "http.response.start",
                "status": cached.status,
                "headers": [
                    *cached.headers,
                    (b"x-request-id", request_id.encode()),
                    (b"x-cache", how.encode()),
                    (b"age", str(age).encode()),
                    *limit_headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": cached.body})

    # ---- dispatch to the tenant API or an upstream ----------------------------------------------------

    async def _dispatch(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        outcome: _Outcome,
        request_id: str,
        principal: Principal,
        route: Route | None,
        limit_headers: list[tuple[bytes, bytes]],
        capture: bool,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> _Responder | None:
        headers = [(b"x-request-id", request_id.encode()), *limit_headers, *(extra or ())]
        if route is not None:
            outcome.route = route.label
            return await self._proxy(route, scope, receive, send, outcome, request_id, principal, headers, capture)
        responder = _Responder(send, headers, capture, self.gw.cache.max_entry_bytes)
        scope["barista.principal"] = principal
        try:
            await self.api(scope, receive, responder)
        except Exception:
            log.exception("unhandled error in the tenant API", request_id=request_id)
            if responder.started:
                raise
            responder.status = 500
            await send_error(send, 500, "internal_error", "something went wrong on our side", request_id, limit_headers)
            return None
        finally:
            matched = scope.get("route")
            outcome.route = getattr(matched, "path", self._api_route_label)
            outcome.status = responder.status
        return responder

    async def _proxy(
        self,
        route: Route,
        scope: Scope,
        receive: Receive,
        send: Send,
        outcome: _Outcome,
        request_id: str,
        principal: Principal | None,
        headers: list[tuple[bytes, bytes]],
        capture: bool = False,
    ) -> _Responder | None:
        gw = self.gw
        responder = _Responder(
            send, headers or [(b"x-request-id", request_id.encode())], capture, gw.cache.max_entry_bytes
        )
        try:
            await gw.proxy.forward(
                route,
                scope,
                receive,
                responder,
                request_id=request_id,
                identity=self._identity_headers(principal),
                max_body=gw.settings.max_request_bytes,
            )
        except UpstreamError as exc:
            gw.metrics.upstream_errors.labels(route.label, exc.kind).inc()
            outcome.status = exc.status
            code = "upstream_timeout" if exc.status == 504 else "upstream_unavailable"
            await send_error(send, exc.status, code, exc.message, request_id, headers[1:])
            return None
        except RequestTooLarge as exc:
            outcome.status = 413
            await send_error(send, 413, "request_too_large", str(exc), request_id)
            return None
        except BodyBrokeOff:
            gw.metrics.upstream_errors.labels(route.label, "broken_body").inc()
            outcome.status = responder.status
            raise
        outcome.status = responder.status
        return responder

    def _identity_headers(self, principal: Principal | None) -> bytes:
        """``X-Barista-Tenant/-Plan/-Features`` for the upstream, encoded once per tenant record."""
        if principal is None:
            return b""
        tenant = principal.tenant
        cached = self._identity.get(id(tenant))
        if cached is None or cached[0] is not tenant:  # a record is replaced (not changed) on invalidation
            if len(self._identity) > 10_000:
                self._identity.clear()
            features = ",".join(sorted(f.value for f in tenant.features))
            block = (
                f"x-barista-tenant: {tenant.name}\r\nx-barista-plan: {tenant.plan.value}\r\n"
                f"x-barista-features: {features}\r\n"
            ).encode("latin-1")
            cached = self._identity[id(tenant)] = (tenant, block)
        return cached[1]

    # ---- public paths ---------------------------------------------------------------------------------

    async def _public(
        self, path: str, scope: Scope, receive: Receive, send: Send, outcome: _Outcome, request_id: str
    ) -> None:
        headers = [(b"x-request-id", request_id.encode())]
        if path == "/healthz":
            outcome.status = 200
            await send_json(send, 200, self.gw.health.liveness().body(), headers)
        elif path == "/readyz":
            report = await self.gw.health.readiness()
            outcome.status = 200 if report.ok else 503
            await send_json(send, outcome.status, report.body(), headers)
        elif path == "/metrics":
            body, content_type = render_metrics()
            gateway_body, _ = render_metrics(self.gw.metrics.registry)
            outcome.status = 200
            payload = body + gateway_body
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", content_type.encode()),
                        (b"content-length", str(len(payload)).encode()),
                        *headers,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": payload})
        else:
            responder = _Responder(send, headers, False, 0)
            await self.api(scope, receive, responder)
            outcome.status = responder.status

    # ---- helpers --------------------------------------------------------------------------------------

    def _request_id(self, incoming: bytes | None) -> str:
        if incoming is not None and 0 < len(incoming) <= 128 and all(c in _REQUEST_ID_CHARS for c in incoming):
            return incoming.decode("ascii")
        return f"{self._id_prefix}{next(self._ids):x}"

    def _count_auth_failure(self, code: str) -> None:
        child = self._auth_failures.get(code)
        if child is None:
            child = self._auth_failures[code] = self.gw.metrics.auth_failures.labels(code)
        child.inc()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if not self.gw.started:
                        await self.gw.start()
                except Exception as exc:
                    log.exception("gateway failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                # everything allocated so far lives as long as the process: keep it out of the cyclic
                # collector, whose full passes over it would otherwise stall requests (p99)
                freeze_startup()
                # serving makes next to no reference cycles (a handful per million requests), but every
                # request's short-lived containers count towards the young generation: at the default
                # 700 the collector ran every ~100 requests, re-walking whatever was in flight. Ten
                # times rarer keeps the same pauses (~0.1 ms) and a tenth of the work.
                tune_gc(_GC_GEN0_THRESHOLD, 20, 20)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.gw.close()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return


_SECRET_PARAMS = re.compile(rb"((?:^|&)[^=&]*(?:key|token|secret|password|signature)[^=&]*=)[^&]*", re.IGNORECASE)


def _loggable_query(query: bytes) -> str:
    """The query string for the access log, values of credential-looking parameters replaced."""
    if not query:
        return ""
    return _SECRET_PARAMS.sub(rb"\1***", query).decode("latin-1")


class _Outcome:
    __slots__ = ("auth", "cache", "request_id", "route", "status", "tenant")

    def __init__(self) -> None:
        self.route = "unauthenticated"
        self.status = 0
        self.tenant: str | None = None
        self.auth: str | None = None
        self.cache = "-"
        self.request_id = ""


__all__ = ["PUBLIC_PATHS", "Edge", "RateDecision"]
