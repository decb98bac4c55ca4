"""When runs happen, and how the replicas of a flow share one: run windows and target claims in Redis.

A *run* is one pass over the flow's targets, shared by every replica of the flow's worker Deployment:

- **interval** (``BARISTA_INTERVAL_SECONDS``): the first replica that finds no current run starts one —
  an atomic ``GET``-or-``SET PX interval`` of ``<prefix>worker:<tenant>:<flow>:run`` — and the others
  join it. The run's window ends when that key expires; then the next run starts. A worker (re)starting
  mid-window joins the current run instead of re-scraping everything.
- **cron** (``BARISTA_SCHEDULE``, five fields or ``@hourly`` …, UTC, parsed by croniter — the same
  library Airflow uses for Pipeline schedules): every replica wakes at the fire time; the run id is the
  fire time, its window lasts until the next fire time.

Within a run each target is scraped by exactly one replica: before scraping it a replica adds it to
the run's claim set (``SADD`` says who was first). Summaries of every replica add up in the run's hash;
``…:last-run`` holds the latest finished one (started_at, finished_at, succeeded, failed, …).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

from croniter import croniter

from barista_core.errors import ConfigError
from barista_worker.model import RunResult

_BEGIN = """
local v = redis.call('GET', KEYS[1])
if v then return {v, redis.call('PTTL', KEYS[1]), 0} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {ARGV[1], tonumber(ARGV[2]), 1}
"""
#: Adds one replica's counts to its run's summary and, in the same atomic step, copies the totals to the
#: last-run record unless that already holds a later run (run ids begin with their UTC start time): two
#: replicas finishing together cannot leave the earlier, partial totals there.
_FINISH = """
redis.call('HSETNX', KEYS[1], 'run_id', ARGV[1])
redis.call('HSETNX', KEYS[1], 'started_at', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'succeeded', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'failed', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'snapshots', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'replicas', 1)
redis.call('HSET', KEYS[1], 'finished_at', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
local totals = redis.call('HGETALL', KEYS[1])
local last = redis.call('HGET', KEYS[2], 'run_id')
if (not last) or last <= ARGV[1] then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], unpack(totals))
end
return totals
"""
#: Claims and summaries outlive their window by this much (late replicas still see them).
KEEP_AFTER_WINDOW = 3600.0


@dataclass(frozen=True, slots=True)
class RunWindow:
    run_id: str
    started_at: float  # Unix time
    ends_at: float  # Unix time: the next run is due
    joined: bool = False  # another replica started it


@dataclass(frozen=True, slots=True)
class IntervalSchedule:
    seconds: float

    def describe(self) -> str:
        return f"every {self.seconds:g} s"


class CronSchedule:
    def __init__(self, expression: str) -> None:
        if not croniter.is_valid(expression):
            raise ConfigError(f"BARISTA_SCHEDULE is invalid: {expression!r} is not a cron expression")
        self.expression = expression

    def next_after(self, moment: float) -> float:
        start = dt.datetime.fromtimestamp(moment, dt.UTC)
        following: dt.datetime = croniter(self.expression, start).get_next(dt.datetime)
        return following.timestamp()

    def describe(self) -> str:
        return f"cron {self.expression!r} (UTC)"


Schedule = IntervalSchedule | CronSchedule


def run_id_at(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y%m%dT%H%M%SZ")


class RunCoordinator:
    """Redis keys of one flow: the current interval run, claims and summaries."""

    def __init__(self, redis: Any, *, prefix: str, tenant: str, flow: str) -> None:
        self.redis = redis
        self.base = f"{prefix}worker:{tenant}:{flow}:"

    @property
    def run_key(self) -> str:
        return self.base + "run"

    @property
    def last_run_key(self) -> str:
        return self.base + "last-run"

    def claims_key(self, run_id: str) -> str:
        return f"{self.base}runs:{run_id}:claims"

    def summary_key(self, run_id: str) -> str:
        return f"{self.base}runs:{run_id}"

    async def begin_interval(self, interval: float, *, now: float | None = None) -> RunWindow:
        """Join the current run, or start one lasting ``interval`` seconds."""
        now = time.time() if now is None else now
        proposed = f"{run_id_at(now)}-{uuid.uuid4().hex[:6]}"
        value, pttl, created = await self.redis.eval(
            _BEGIN, 1, self.run_key, f"{proposed}|{now:.3f}", max(1, int(interval * 1000))
        )
        run_id, _, started = (value.decode() if isinstance(value, bytes) else str(value)).partition("|")
        remaining = max(0, int(pttl)) / 1000
        return RunWindow(run_id, float(started or now), now + remaining, joined=not created)

    @staticmethod
    def cron_window(fire: float, next_fire: float) -> RunWindow:
        return RunWindow(run_id_at(fire), fire, next_fire)

    async def claim(self, window: RunWindow, target: str, *, now: float | None = None) -> bool:
        """True when this replica is the first to take ``target`` in ``window``'s run."""
        now = time.time() if now is None else now
        keep = max(1, int((window.ends_at - now + KEEP_AFTER_WINDOW) * 1000))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(self.claims_key(window.run_id), target)
            pipe.pexpire(self.claims_key(window.run_id), keep)
            added, _ = await pipe.execute()
        return bool(added)

    async def finish(self, window: RunWindow, result: RunResult) -> dict[str, str]:
        """Add this replica's counts to the run's summary; returns the run's totals so far."""
        keep = max(1, int((window.ends_at - time.time() + KEEP_AFTER_WINDOW) * 1000))
        flat = await self.redis.eval(
            _FINISH, 2, self.summary_key(window.run_id), self.last_run_key,
            window.run_id, f"{window.started_at:.3f}", result.succeeded, result.failed, result.snapshots,
            f"{result.finished_at:.3f}", keep,
        )  # fmt: skip
        text = [item.decode() if isinstance(item, bytes) else str(item) for item in flat]
        totals = dict(zip(text[::2], text[1::2], strict=True))
        return totals
