"""Per-tenant events/s admission on top of the distributed limiter (:mod:`barista_core.ratelimit`).

A batch of ``n`` events asks for ``n`` tokens of the tenant's bucket (``rate`` = the plan's
``eventsPerSecond`` per 1 s); it may get fewer, and then only the first ones are admitted. Tokens
are leased from Redis in blocks (one script call serves many requests) and spent locally, so a
stream of one-event requests does not cost a Redis round trip each. Leasing never admits more than
the shared bucket grants; unused tokens go back with the next lease of that tenant after
``lease_ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from barista_core.ratelimit import RateLimiter


def events_per_second_key(tenant: str) -> str:
    """The limiter key of a tenant's events/s budget (shared by every ingest replica and the gateway)."""
    return f"events:{tenant}"


@dataclass(frozen=True, slots=True)
class Admission:
    granted: int
    retry_after: float  # seconds until more events would be admitted (0 when all were)


@dataclass(slots=True)
class _Lease:
    rate: int
    tokens: int
    expires: float
    denied_until: float = 0.0
    retry_after: float = 0.0


class EventAdmission:
    def __init__(self, limiter: RateLimiter, *, lease_ttl: float = 1.0, max_block: int = 2_000) -> None:
        self.limiter = limiter
        self.lease_ttl = lease_ttl
        self.max_block = max_block
        self._leases: dict[str, _Lease] = {}
        self._inflight: dict[str, asyncio.Future[None]] = {}

    def block_size(self, rate: int) -> int:
        return max(1, min(self.max_block, int(rate * self.lease_ttl / 4)))

    async def admit(self, tenant: str, *, rate: int, wanted: int) -> Admission:
        """Admit up to ``wanted`` events of ``tenant`` whose limit is ``rate`` events per second."""
        if wanted <= 0:
            return Admission(0, 0.0)
        while True:
            now = time.monotonic()
            lease = self._leases.get(tenant)
            if lease is not None and lease.rate == rate and now < lease.expires:
                if lease.tokens >= wanted:
                    lease.tokens -= wanted
                    return Admission(wanted, 0.0)
                if now < lease.denied_until:  # the shared bucket said no a moment ago: spend what is left
                    granted, lease.tokens = lease.tokens, 0
                    return Admission(granted, lease.denied_until - now)
            pending = self._inflight.get(tenant)
            if pending is None:
                return await self._renew(tenant, rate, wanted, lease, now)
            await asyncio.shield(pending)

    async def _renew(self, tenant: str, rate: int, wanted: int, old: _Lease | None, now: float) -> Admission:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[tenant] = future
        try:
            held = old.tokens if old is not None and old.rate == rate and now < old.expires else 0
            refund = old.tokens if old is not None and old.rate == rate and now >= old.expires else 0
            ask = min(rate, max(1, wanted - held) + self.block_size(rate))
            decision = await self.limiter.lease(
                events_per_second_key(tenant), rate=rate, period=1.0, tokens=ask, refund=refund
            )
            available = held + (decision.granted if decision.allowed else 0)
            granted = min(wanted, available)
            lease = _Lease(rate=rate, tokens=available - granted, expires=now + self.lease_ttl)
            retry_after = 0.0
            if granted < wanted:
                # locally, stop asking Redis until the next token is due; tell the caller when all would fit
                next_token = decision.retry_after if not decision.allowed else 1.0 / rate
                lease.denied_until = now + max(next_token, 0.001)
                retry_after = max(next_token, (wanted - granted) / rate)
            self._leases[tenant] = lease
            return Admission(granted, retry_after)
        finally:
            del self._inflight[tenant]
            future.set_result(None)

    async def release(self) -> None:
        """Give every unused token back (on shutdown)."""
        leases, self._leases = self._leases, {}
        for tenant, lease in leases.items():
            if lease.tokens > 0:
                await self.limiter.refund(
                    events_per_second_key(tenant), rate=lease.rate, period=1.0, tokens=lease.tokens
                )
