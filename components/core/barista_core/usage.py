"""Usage counters per tenant in Redis: requests (gateway), events (ingest and the gateway's bridge),
scrapes (workers); the gateway's ``GET /v1/usage`` reads them.

Key schema (any component may add to it): hash ``<prefix>usage:<tenant>:<YYYYMMDD>`` (UTC day) with
fields ``requests``, ``events``, ``scrapes``; kept 40 days. The gateway also keeps per-minute
request counts (``<prefix>usage:<tenant>:m:<YYYYMMDDHHMM>``, kept 2 hours) for "this minute".
Counting is local and flushed every second in one pipeline, so it costs no round trip per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections import defaultdict

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from barista_core.logging import get_logger

log = get_logger(__name__)
METRICS = ("requests", "events", "scrapes")
DAY_TTL = 40 * 86_400
MINUTE_TTL = 2 * 3_600


def _utc(now: datetime.datetime | None = None) -> datetime.datetime:
    return now or datetime.datetime.now(datetime.UTC)


class UsageCounter:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "barista:", interval: float = 1.0) -> None:
        self.redis = redis
        self.prefix = prefix
        self.interval = interval
        self._pending: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._task: asyncio.Task[None] | None = None

    def add(self, tenant: str, metric: str, count: int = 1) -> None:
        self._pending[(tenant, metric)] += count

    def day_key(self, tenant: str, when: datetime.datetime | None = None) -> str:
        return f"{self.prefix}usage:{tenant}:{_utc(when):%Y%m%d}"

    def minute_key(self, tenant: str, when: datetime.datetime | None = None) -> str:
        return f"{self.prefix}usage:{tenant}:m:{_utc(when):%Y%m%d%H%M}"

    async def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, defaultdict(int)
        now = _utc()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for (tenant, metric), count in pending.items():
                    day = self.day_key(tenant, now)
                    pipe.hincrby(day, metric, count)
                    pipe.expire(day, DAY_TTL)
                    if metric == "requests":
                        minute = self.minute_key(tenant, now)
                        pipe.incrby(minute, count)
                        pipe.expire(minute, MINUTE_TTL)
                await pipe.execute()
        except (RedisError, OSError) as exc:  # keep the counts for the next round
            for key, count in pending.items():
                self._pending[key] += count
            log.warning("usage flush failed", error=str(exc)[:200])

    async def read(self, tenant: str) -> dict[str, dict[str, int]]:
        """Today's and this month's totals per metric, and requests in the current minute."""
        await self.flush()
        now = _utc()
        days = [now.replace(day=d) for d in range(1, now.day + 1)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(self.day_key(tenant, day))
            pipe.get(self.minute_key(tenant, now))
            results = await pipe.execute()
        month = dict.fromkeys(METRICS, 0)
        today = dict.fromkeys(METRICS, 0)
        for day, values in zip(days, results[:-1], strict=True):
            for field, value in (values or {}).items():
                name = field.decode() if isinstance(field, bytes) else str(field)
                if name in month:
                    month[name] += int(value)
                    if day.day == now.day:
                        today[name] += int(value)
        return {"today": today, "month": month, "minute": {"requests": int(results[-1] or 0)}}

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="barista-usage-flush")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()
