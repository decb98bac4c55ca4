"""A distributed rate limiter in Redis: GCRA in one atomic Lua script, exact across processes.

GCRA (the generic cell rate algorithm) keeps one number per key, the *theoretical arrival time*
(TAT): the moment the bucket would be full again. A request costing ``n`` tokens is admitted when
``max(TAT, now) + n·T - τ <= now`` where ``T = period / rate`` is the emission interval and
``τ = rate·T`` the burst tolerance (a full period's worth of tokens may be spent at once). Time comes
from Redis (``TIME``), so clocks of the callers do not matter, and the whole decision is one script
run, so concurrent callers on any number of machines can never together exceed the rate. All
arithmetic is in integer microseconds (exact in Lua's doubles); ``T`` is rounded down to a whole
microsecond, so a period admits exactly ``rate`` tokens from a full bucket.

Usage::

    limiter = RateLimiter(redis_client, prefix="barista:ratelimit:")
    decision = await limiter.acquire(f"api:{tenant}", rate=6000, period=60.0)
    if not decision.allowed:
        ...  # 429, Retry-After: ceil(decision.retry_after)

:class:`LeasedRateLimiter` sits in front for hot paths: it takes tokens from the shared bucket in
small blocks (one script call per block, not per request) and hands them out locally. It never
admits more than the shared limiter grants; unused tokens go back with the next lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from barista_core.logging import get_logger

log = get_logger(__name__)

_GCRA = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local partial = ARGV[4] == '1'
local refund = tonumber(ARGV[5])
local tau = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
if refund > 0 then
  tat = tat - refund * interval
  if tat < now then tat = now end
end
local available = math.floor((now + tau - tat) / interval)
local granted = cost
if partial and available < cost then granted = available end
if granted <= 0 or granted > available then
  if refund > 0 then
    if tat > now then
      redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.floor((tat - now) / 1000) + 1)
    else
      redis.call('DEL', KEYS[1])
    end
  end
  local need = cost
  if partial then need = 1 end
  return {0, 0, available, tat + need * interval - tau - now, tat - now}
end
local new_tat = tat + granted * interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 1)
return {1, granted, available - granted, 0, new_tat - now}
"""


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs ~1 µs more, and one is made per request
class RateDecision:
    allowed: bool
    limit: int  # tokens per period
    remaining: int  # tokens that could still be taken now
    retry_after: float  # seconds until the request would be admitted (0 when allowed)
    reset_after: float  # seconds until the bucket is full again
    granted: int = 0  # tokens taken (cost when allowed; up to ``tokens`` for a lease)

    def headers(self, period: float) -> list[tuple[bytes, bytes]]:
        """``RateLimit-Limit/-Remaining/-Reset`` (IETF draft); refusals add ``RateLimit-Policy`` and ``Retry-After``."""
        out = [
            (b"ratelimit-limit", _ascii(self.limit)),
            (b"ratelimit-remaining", str(max(0, self.remaining)).encode()),
            (b"ratelimit-reset", _ascii(math.ceil(self.reset_after))),
        ]
        if not self.allowed:
            out.append((b"ratelimit-policy", f"{self.limit};w={period:g}".encode()))
            out.append((b"retry-after", str(max(1, math.ceil(self.retry_after))).encode()))
        return out


_ASCII: dict[int, bytes] = {}


def _ascii(n: int) -> bytes:
    """``str(n).encode()``, remembered for the few values that repeat on every answer (limits, resets)."""
    value = _ASCII.get(n)
    if value is None:
        if len(_ASCII) > 4096:
            _ASCII.clear()
        value = _ASCII[n] = str(n).encode()
    return value


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "barista:ratelimit:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._sha: str | None = None

    async def acquire(self, key: str, *, rate: int, period: float, cost: int = 1) -> RateDecision:
        """Take ``cost`` tokens from ``key``'s bucket of ``rate`` tokens per ``period`` seconds, all or nothing."""
        if cost > rate:
            raise ValueError(f"cost {cost} exceeds the bucket size {rate}: it could never be admitted")
        return await self._run(key, rate, period, cost, partial=False, refund=0)

    async def lease(self, key: str, *, rate: int, period: float, tokens: int, refund: int = 0) -> RateDecision:
        """Take up to ``tokens`` (at least one, or nothing), after giving back ``refund`` unused ones."""
        return await self._run(key, rate, period, max(1, min(tokens, rate)), partial=True, refund=max(0, refund))

    async def refund(self, key: str, *, rate: int, period: float, tokens: int) -> None:
        """Give back ``tokens`` taken but not used."""
        if tokens > 0:
            # a lease of the impossible cost rate+1 takes nothing and applies the refund
            await self._run(key, rate, period, rate + 1, partial=False, refund=tokens)

    async def reset(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)

    async def _run(self, key: str, rate: int, period: float, cost: int, *, partial: bool, refund: int) -> RateDecision:
        if rate < 1 or period <= 0 or cost < 1:
            raise ValueError("rate and cost must be >= 1 and period > 0")
        interval = max(1, int(period * 1_000_000) // rate)
        args = (interval, rate, cost, "1" if partial else "0", refund)
        if self._sha is None:
            self._sha = await self.redis.script_load(_GCRA)
        try:
            result = await self.redis.evalsha(self._sha, 1, self.prefix + key, *args)
        except NoScriptError:  # Redis restarted or SCRIPT FLUSH
            self._sha = await self.redis.script_load(_GCRA)
            result = await self.redis.evalsha(self._sha, 1, self.prefix + key, *args)
        allowed, granted, remaining, retry_us, reset_us = (int(v) for v in result)
        return RateDecision(
            allowed=bool(allowed),
            limit=rate,
            remaining=remaining,
            retry_after=retry_us / 1_000_000,
            reset_after=reset_us / 1_000_000,
            granted=granted,
        )


@dataclass(slots=True)
class _Lease:
    rate: int
    period: float
    tokens: int
    expires: float
    remaining: int  # what the shared bucket had left after this lease
    reset_after: float
    denied_until: float = 0.0
    retry_after: float = 0.0
    low_water: int = 0  # top up when four times the tokens left fall below this (block size - 1)


class LeasedRateLimiter:
    """Local admission from tokens leased in blocks from a :class:`RateLimiter`.

    A block is about a quarter of what the rate allows in ``lease_ttl`` seconds, capped at
    ``max_block``; low rates (60/min) lease one token at a time and are therefore exact per
    request. When a lease of several tokens runs low (a quarter left) or nears its end, the next
    block is fetched in the background, so steady traffic never waits for Redis.

    Across replicas the shared bucket is never overdrawn; the cost of leasing is that a replica may
    refuse while another still holds unused tokens (at most two blocks per replica, given back when
    its lease lapses after ``lease_ttl`` seconds without use).
    """

    def __init__(self, limiter: RateLimiter, *, lease_ttl: float = 1.0, max_block: int = 256) -> None:
        self.limiter = limiter
        self.lease_ttl = lease_ttl
        self.max_block = max_block
        self._leases: dict[str, _Lease] = {}
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._background: set[asyncio.Task[None]] = set()

    def block_size(self, rate: int, period: float) -> int:
        return max(1, min(self.max_block, int(rate * self.lease_ttl / period / 4)))

    async def acquire(self, key: str, *, rate: int, period: float) -> RateDecision:
        while True:
            now = time.monotonic()
            lease = self._leases.get(key)
            if lease is not None and lease.rate == rate and lease.period == period:
                if lease.tokens > 0 and now < lease.expires:
                    lease.tokens -= 1
                    if (lease.tokens * 4 < lease.low_water or now > lease.expires - self.lease_ttl / 4) and (
                        key not in self._inflight
                    ):
                        self._prefetch(key, rate, period)
                    return RateDecision(True, rate, lease.remaining + lease.tokens, 0.0, lease.reset_after, 1)
                if now < lease.denied_until:
                    return RateDecision(False, rate, 0, lease.denied_until - now, lease.reset_after, 0)
            pending = self._inflight.get(key)
            if pending is not None:
                await asyncio.shield(pending)
                continue
            return await self._renew(key, rate, period, lease, now)

    def _prefetch(self, key: str, rate: int, period: float) -> None:
        """Top up a lease of several tokens before it runs dry (single-token leases never prefetch)."""
        if self.block_size(rate, period) < 4:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future

        async def top_up() -> None:
            try:
                decision = await self.limiter.lease(key, rate=rate, period=period, tokens=self.block_size(rate, period))
                lease = self._leases.get(key)
                if lease is None or lease.rate != rate or lease.period != period:
                    await self.limiter.refund(key, rate=rate, period=period, tokens=decision.granted)
                    return
                now = time.monotonic()
                lease.remaining, lease.reset_after = decision.remaining, decision.reset_after
                if decision.allowed:
                    lease.tokens += decision.granted
                    lease.expires = now + self.lease_ttl
                else:  # the shared bucket is empty: spend what is left, then refuse until it refills
                    lease.denied_until = now + decision.retry_after
            except Exception as exc:  # the synchronous path tries again (and raises) when the tokens run out
                log.warning("could not top up a rate-limit lease", key=key, error=str(exc)[:200])
            finally:
                del self._inflight[key]
                future.set_result(None)

        task = asyncio.get_running_loop().create_task(top_up())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _renew(self, key: str, rate: int, period: float, old: _Lease | None, now: float) -> RateDecision:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            refund = old.tokens if old is not None and old.tokens > 0 else 0
            if old is not None and (old.rate != rate or old.period != period):
                refund = 0  # tokens of another rate are not worth the same: let them lapse
            decision = await self.limiter.lease(
                key, rate=rate, period=period, tokens=self.block_size(rate, period), refund=refund
            )
            lease = _Lease(rate, period, 0, now + self.lease_ttl, decision.remaining, decision.reset_after)
            lease.low_water = self.block_size(rate, period) - 1
            if decision.allowed:
                lease.tokens = decision.granted - 1  # one is this request's
                result = RateDecision(True, rate, decision.remaining + lease.tokens, 0.0, decision.reset_after, 1)
            else:
                lease.denied_until = now + decision.retry_after
                result = decision
            self._leases[key] = lease
            return result
        finally:
            del self._inflight[key]
            future.set_result(None)

    async def release(self) -> None:
        """Give every unused token back (on shutdown)."""
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        leases, self._leases = self._leases, {}
        for key, lease in leases.items():
            if lease.tokens > 0:
                await self.limiter.refund(key, rate=lease.rate, period=lease.period, tokens=lease.tokens)
