"""The two-layer response cache for tenant-API GETs (and proxied routes that opt in).

Keys are ``(tenant, path, canonical query)``: the tenant comes from the credential, so one tenant's
entry can never answer another tenant's request. Layers:

- **L1** in-process: LRU bounded by bytes (``max_bytes``) with per-entry expiry;
- **L2** Redis: one hash per tenant, ``<prefix>cache:<tenant>`` (field = path + query, value =
  expiry, status, headers and body), shared by every replica.

Freshness: an answer is stored only when it says so — status 200 and ``Cache-Control: max-age=N``
(capped at ``max_ttl``) without ``no-store``/``no-cache``, or a proxied route's configured TTL. A
request with ``Cache-Control: no-cache`` (or ``max-age=0``) skips the lookup and refreshes the
entry; ``no-store`` bypasses the cache altogether.

Invalidation: every tenant has a generation number in Redis (``<prefix>cachegen:<tenant>``).
:meth:`ResponseCache.invalidate` bumps it and deletes the tenant's L2 hash in one script, and the
bus message ``data:<tenant>`` makes every replica drop its L1 entries (a local generation that
L1 entries must match). Stores compare the generation read at lookup time, so an answer computed
from data that changed in the meantime is never written back.

Single flight: concurrent misses for the same key wait for the first one's answer instead of
calling the upstream themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import orjson
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError

from barista_core.logging import get_logger

log = get_logger(__name__)

#: Response headers never stored (per-request or per-hop).
_UNCACHED_HEADERS = frozenset(
    {
        b"x-request-id",
        b"date",
        b"server",
        b"set-cookie",
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"ratelimit-limit",
        b"ratelimit-remaining",
        b"ratelimit-reset",
        b"ratelimit-policy",
        b"retry-after",
        b"x-cache",
        b"age",
    }
)

_LOOKUP = """
return {redis.call('HGET', KEYS[1], ARGV[1]), redis.call('GET', KEYS[2])}
"""
_STORE = """
local gen = redis.call('GET', KEYS[2])
if (gen or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
"""
_INVALIDATE = """
redis.call('DEL', KEYS[1])
return redis.call('INCR', KEYS[2])
"""


@dataclass(slots=True)
class CachedResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    stored_at: float  # wall clock
    expires_at: float  # wall clock
    route: str  # the metrics label of the route that produced it

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 128

    def pack(self) -> bytes:
        head = orjson.dumps(
            [
                self.status,
                [[k.decode("latin-1"), v.decode("latin-1")] for k, v in self.headers],
                self.stored_at,
                self.expires_at,
                self.route,
            ]
        )
        return head + b"\n" + self.body

    @classmethod
    def unpack(cls, data: bytes) -> CachedResponse:
        head, _, body = data.partition(b"\n")
        status, headers, stored_at, expires_at, route = orjson.loads(head)
        return cls(
            status, [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers], body, stored_at, expires_at, route
        )


@dataclass(slots=True)
class _L1Entry:
    response: CachedResponse
    generation: int


def canonical_query(query_string: bytes) -> str:
    """The query with parameters sorted, so ``?a=1&b=2`` and ``?b=2&a=1`` share an entry."""
    if not query_string:
        return ""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return urlencode(sorted(pairs)) if len(pairs) > 1 else urlencode(pairs)


def request_directives(value: bytes | None) -> tuple[bool, bool]:
    """(lookup allowed, store allowed) for a request's Cache-Control header."""
    if not value:
        return True, True
    text = value.decode("latin-1").lower()
    if "no-store" in text:
        return False, False
    if "no-cache" in text or "max-age=0" in text.replace(" ", ""):
        return False, True
    return True, True


def response_ttl(headers: list[tuple[bytes, bytes]], *, default: float | None, max_ttl: float) -> float | None:
    """Seconds the answer may be kept, from its Cache-Control (None: do not store).

    An answer that varies by a request header other than Accept-Encoding is not stored: the key is
    tenant + path + query only.
    """
    for name, value in headers:
        if name.lower() == b"vary" and any(
            token.strip() not in (b"accept-encoding", b"") for token in value.lower().split(b",")
        ):
            return None
    for name, value in headers:
        if name.lower() == b"cache-control":
            directives = [d.strip() for d in value.decode("latin-1").lower().split(",")]
            if any(d in ("no-store", "no-cache") for d in directives):
                return None
            for directive in directives:
                for key in ("s-maxage=", "max-age="):
                    if directive.startswith(key):
                        try:
                            seconds = float(directive[len(key) :])
                        except ValueError:
                            return None
                        return min(seconds, max_ttl) if seconds > 0 else None
            return min(default, max_ttl) if default else None
    return min(default, max_ttl) if default else None


class ResponseCache:
    def __init__(
        self,
        redis: aioredis.Redis | None,
        *,
        prefix: str = "barista:",
        max_bytes: int = 64 * 1024 * 1024,
        max_entry_bytes: int = 1024 * 1024,
        max_ttl: float = 3600.0,
        l2: bool = True,
        on_lookup: object = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.max_ttl = max_ttl
        self.l2 = l2 and redis is not None
        self._l1: OrderedDict[tuple[str, str], _L1Entry] = OrderedDict()
        self._l1_bytes = 0
        self._generations: dict[str, int] = {}
        self._flights: dict[tuple[str, str], asyncio.Future[CachedResponse | None]] = {}
        self._shas: dict[str, str] = {}
        self._record = on_lookup if callable(on_lookup) else (lambda layer, hit: None)

    # ---- keys and generations ------------------------------------------------------------------------

    def _hash_key(self, tenant: str) -> str:
        return f"{self.prefix}cache:{tenant}"

    def _gen_key(self, tenant: str) -> str:
        return f"{self.prefix}cachegen:{tenant}"

    def local_generation(self, tenant: str) -> int:
        return self._generations.get(tenant, 0)

    # ---- lookup ---------------------------------------------------------------------------------------

    def get_l1(self, tenant: str, key: str) -> CachedResponse | None:
        entry = self._l1.get((tenant, key))
        if entry is None:
            if self.max_bytes:
                self._record("l1", False)
            return None
        if entry.generation != self._generations.get(tenant, 0) or entry.response.expires_at <= time.time():
            self._drop((tenant, key))
            self._record("l1", False)
            return None
        self._l1.move_to_end((tenant, key))
        self._record("l1", True)
        return entry.response

    async def get_l2(self, tenant: str, key: str, *, l1_generation: int) -> tuple[CachedResponse | None, str]:
        """The shared entry (or None) and the tenant's generation as read now (for a later store).

        ``l1_generation`` is this replica's generation of the tenant read before the lookup began.
        """
        if not self.l2:
            return None, "0"
        assert self.redis is not None
        try:
            raw, generation = await self._script(_LOOKUP, [self._hash_key(tenant), self._gen_key(tenant)], [key])
        except (RedisError, OSError) as exc:
            log.warning("L2 cache lookup failed", error=str(exc)[:200])
            return None, "unavailable"
        generation = (generation or b"0").decode() if isinstance(generation, bytes) else str(generation or "0")
        if raw is None:
            self._record("l2", False)
            return None, generation
        response = CachedResponse.unpack(raw)
        if response.expires_at <= time.time():
            self._record("l2", False)
            with contextlib.suppress(RedisError, OSError):  # fields cannot expire by themselves before Redis 7.4
                await self.redis.hdel(self._hash_key(tenant), key)
            return None, generation
        self._record("l2", True)
        self._put_l1(tenant, key, response, l1_generation)
        return response, generation

    # ---- store ----------------------------------------------------------------------------------------

    async def store(
        self, tenant: str, key: str, response: CachedResponse, *, l1_generation: int, l2_generation: str
    ) -> None:
        if len(response.body) > self.max_entry_bytes:
            return
        response.headers = [(k, v) for k, v in response.headers if k.lower() not in _UNCACHED_HEADERS]
        self._put_l1(tenant, key, response, l1_generation)
        if self.l2 and l2_generation != "unavailable":
            try:
                await self._script(
                    _STORE,
                    [self._hash_key(tenant), self._gen_key(tenant)],
                    [l2_generation, key, response.pack(), int(self.max_ttl * 1000) + 1000],
                )
            except (RedisError, OSError) as exc:
                log.warning("L2 cache store failed", error=str(exc)[:200])

    def _put_l1(self, tenant: str, key: str, response: CachedResponse, generation: int) -> None:
        if not self.max_bytes or generation != self._generations.get(tenant, 0):
            return  # invalidated while the answer was being computed
        size = response.size
        if size > self.max_entry_bytes or size > self.max_bytes:
            return
        self._drop((tenant, key))
        self._l1[(tenant, key)] = _L1Entry(response, generation)
        self._l1_bytes += size
        while self._l1_bytes > self.max_bytes and self._l1:
            _, oldest = self._l1.popitem(last=False)
            self._l1_bytes -= oldest.response.size

    def _drop(self, full_key: tuple[str, str]) -> None:
        entry = self._l1.pop(full_key, None)
        if entry is not None:
            self._l1_bytes -= entry.response.size

    @property
    def l1_bytes(self) -> int:
        return self._l1_bytes

    # ---- invalidation ---------------------------------------------------------------------------------

    def drop_local(self, tenant: str) -> None:
        """Forget this replica's entries of ``tenant`` (bus message ``data:<tenant>``)."""
        self._generations[tenant] = self._generations.get(tenant, 0) + 1

    def drop_all_local(self) -> None:
        for tenant in {t for t, _ in self._l1} | set(self._generations):
            self.drop_local(tenant)
        self._l1.clear()
        self._l1_bytes = 0

    async def invalidate(self, tenant: str) -> None:
        """The tenant's data changed: drop its entries here, in Redis, and (via the bus) everywhere."""
        self.drop_local(tenant)
        if self.redis is not None:
            await self._script(_INVALIDATE, [self._hash_key(tenant), self._gen_key(tenant)], [])

    # ---- single flight --------------------------------------------------------------------------------

    def join_flight(self, tenant: str, key: str) -> asyncio.Future[CachedResponse | None] | None:
        """The pending computation of this key, if another request is already at it."""
        return self._flights.get((tenant, key))

    def lead_flight(self, tenant: str, key: str) -> asyncio.Future[CachedResponse | None]:
        future: asyncio.Future[CachedResponse | None] = asyncio.get_running_loop().create_future()
        self._flights[(tenant, key)] = future
        return future

    def land_flight(self, tenant: str, key: str, response: CachedResponse | None) -> None:
        future = self._flights.pop((tenant, key), None)
        if future is not None and not future.done():
            future.set_result(response)

    # ---- redis scripts ---------------------------------------------------------------------------------

    async def _script(self, source: str, keys: list[str], args: list[object]) -> object:
        assert self.redis is not None
        sha = self._shas.get(source)
        if sha is None:
            sha = self._shas[source] = await self.redis.script_load(source)
        try:
            return await self.redis.evalsha(sha, len(keys), *keys, *args)
        except NoScriptError:
            self._shas[source] = await self.redis.script_load(source)
            return await self.redis.evalsha(self._shas[source], len(keys), *keys, *args)
