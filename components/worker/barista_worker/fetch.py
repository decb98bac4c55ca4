"""Fetching under the shared rate limit, with retries.

Every HTTP attempt first passes the :class:`Throttle`: a fleet-wide pause (set by any replica that was
answered 429 with ``Retry-After``) and then one token from the distributed limiter
(:class:`barista_core.ratelimit.RateLimiter`, GCRA in Redis, exact across processes). The
:class:`Fetcher` classifies each attempt:

============================  ===========================================================
answer                        what happens
============================  ===========================================================
2xx with a JSON body          returned
2xx, not JSON                 the target fails (``parse_error``), no retry
429                           retried after ``Retry-After`` (the whole fleet pauses too)
5xx, timeout, network error   retried after jittered exponential backoff (``Retry-After`` wins)
other 4xx                     the target fails (``http_<status>``), no retry
============================  ===========================================================

Backoff is "equal jitter": after the n-th failure wait uniformly between half and all of
``min(max_backoff, initial_backoff * 2**(n-1))`` — never nothing, never in lockstep. A
``Retry-After`` longer than ``max_retry_after`` fails the target instead of holding a worker slot.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from redis.exceptions import RedisError

from barista_core.http import parse_retry_after
from barista_core.ratelimit import RateLimiter
from barista_worker import metrics
from barista_worker.model import FetchRequest, Interrupted, Outcome, ParseError, TargetFailed

#: How often a process re-reads the fleet-wide pause from Redis (a local 429 pauses it at once).
PAUSE_CHECK_SECONDS = 0.25


class LimiterUnavailable(Exception):
    """Redis (the rate limiter) cannot be reached: no request may be sent without a token."""


async def sleep_unless_stopped(delay: float, stop: asyncio.Event | None) -> None:
    """Sleep ``delay`` seconds; raise :class:`Interrupted` as soon as ``stop`` is set."""
    if delay <= 0:
        return
    if stop is None:
        await asyncio.sleep(delay)
        return
    if stop.is_set():
        raise Interrupted
    try:
        await asyncio.wait_for(stop.wait(), delay)
    except TimeoutError:
        return
    raise Interrupted


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimit:
    requests: int
    period: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    max_attempts: int = 4
    initial_backoff: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 600.0

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after the ``failures``-th failed attempt (1-based)."""
        ceiling = min(self.max_backoff, self.initial_backoff * 2 ** (failures - 1))
        return ceiling / 2 + rng.random() * ceiling / 2


class Throttle:
    """The gate every request of a flow passes: fleet-wide pause, then a token from the shared bucket.

    ``limit=None`` means no rate limit (only pauses after 429s apply). ``key`` is the limiter key
    (under the limiter's prefix), ``pause_key`` a full Redis key.
    """

    def __init__(
        self,
        redis: Any,
        *,
        limiter: RateLimiter,
        key: str,
        limit: RateLimit | None,
        pause_key: str,
        scope: str,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.redis = redis
        self.limiter = limiter
        self.key = key
        self.limit = limit
        self.pause_key = pause_key
        self.scope = scope
        self.stop = stop
        self._paused_until = 0.0  # monotonic
        self._pause_checked = -math.inf

    async def _pause_remaining(self) -> float:
        now = time.monotonic()
        if now - self._pause_checked >= PAUSE_CHECK_SECONDS:
            self._pause_checked = now
            pttl = int(await self.redis.pttl(self.pause_key))
            if pttl > 0:
                self._paused_until = max(self._paused_until, now + pttl / 1000)
        return self._paused_until - now

    async def admit(self) -> float:
        """Wait until a request may go out; returns the seconds waited. Raises :class:`LimiterUnavailable`."""
        started = time.monotonic()
        waited = False
        try:
            while True:
                pause = await self._pause_remaining()
                if pause > 0:
                    waited = True
                    await sleep_unless_stopped(pause, self.stop)
                    continue
                if self.limit is None:
                    break
                decision = await self.limiter.acquire(self.key, rate=self.limit.requests, period=self.limit.period)
                if decision.allowed:
                    break
                waited = True
                await sleep_unless_stopped(decision.retry_after + random.random() * 0.005, self.stop)
        except (RedisError, OSError) as exc:
            raise LimiterUnavailable(f"rate limiter unavailable: {type(exc).__name__}: {exc}") from exc
        seconds = time.monotonic() - started
        if waited:
            metrics.LIMITER_WAITS.labels(self.scope).inc()
        metrics.LIMITER_WAIT_SECONDS.labels(self.scope).observe(seconds)
        return seconds

    async def pause(self, seconds: float) -> None:
        """Pause every replica's requests through this gate for ``seconds`` (never shortening a longer pause)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)
        milliseconds = max(1, int(seconds * 1000))
        try:
            await self.redis.eval(
                "local t = redis.call('PTTL', KEYS[1]) "
                "if t < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end return 1",
                1,
                self.pause_key,
                milliseconds,
            )
        except (RedisError, OSError) as exc:
            raise LimiterUnavailable(f"rate limiter unavailable: {type(exc).__name__}: {exc}") from exc


def _error_detail(response: httpx.Response) -> str:
    """What the upstream said about an error: ``error.message`` of Google-style JSON, else the body's start."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:200].strip()
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"][:200]
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str):
                return body[key][:200]
    return response.text[:200].strip()


class Fetcher:
    """Runs one :class:`FetchRequest` to a JSON body, through the throttle, retrying what may succeed later."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        source: str,
        throttle: Throttle,
        retry: RetryPolicy | None = None,
        stop: asyncio.Event | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.source = source
        self.throttle = throttle
        self.retry = retry or RetryPolicy()
        self.stop = stop
        self.rng = rng or random.Random()
        self.attempts = 0  # every HTTP attempt made (for run summaries)

    async def fetch(self, request: FetchRequest) -> Any:
        failures = 0
        where = request.url.split("?", 1)[0]
        while True:
            await self.throttle.admit()
            self.attempts += 1
            started = time.perf_counter()
            retry_after: float | None = None
            try:
                response = await self.client.request(
                    request.method,
                    request.url,
                    params=dict(request.params) or None,
                    headers=dict(request.headers),
                    json=request.json,
                )
            except httpx.TimeoutException as exc:
                outcome, detail = Outcome.TIMEOUT, f"{type(exc).__name__} from {where}"
            except httpx.TransportError as exc:
                outcome, detail = Outcome.NETWORK_ERROR, f"{type(exc).__name__} from {where}: {exc}"[:300]
            else:
                status = response.status_code
                if 200 <= status < 300:
                    try:
                        body = orjson.loads(response.content)
                    except orjson.JSONDecodeError:
                        self._observe(Outcome.BAD_BODY, started)
                        kind = response.headers.get("content-type", "?").split(";")[0]
                        raise ParseError(f"{where} answered {status} with {kind}, not JSON") from None
                    self._observe(Outcome.OK, started)
                    return body
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                detail = f"{where} answered {status}: {_error_detail(response)}"
                if status == 429:
                    outcome = Outcome.RATE_LIMITED
                elif status >= 500:
                    outcome = Outcome.SERVER_ERROR
                else:
                    self._observe(Outcome.CLIENT_ERROR, started)
                    reason = "not_found" if status == 404 else f"http_{status}"
                    raise TargetFailed(reason, detail)
            self._observe(outcome, started)
            failures += 1
            if failures >= self.retry.max_attempts:
                raise TargetFailed("retries_exhausted", f"{outcome.value} after {failures} attempts; last: {detail}")
            if retry_after is not None:
                if retry_after > self.retry.max_retry_after:
                    raise TargetFailed("retry_after_too_long", f"Retry-After {retry_after:.0f} s; {detail}")
                delay = retry_after + self.rng.random() * min(1.0, retry_after / 10)
                if outcome is Outcome.RATE_LIMITED:
                    await self.throttle.pause(retry_after)
            else:
                delay = self.retry.backoff(failures, self.rng)
            metrics.RETRIES.labels(self.source, outcome.value).inc()
            await sleep_unless_stopped(delay, self.stop)

    def _observe(self, outcome: Outcome, started: float) -> None:
        metrics.REQUESTS.labels(self.source, outcome.value).inc()
        metrics.REQUEST_SECONDS.labels(self.source).observe(time.perf_counter() - started)
