"""Who is calling: one verifier for API keys and tokens, shared by the gateway and ingest.

Construction (any component holding a PostgreSQL pool and a Redis client)::

    from barista_core.auth.verifier import AuthError, CredentialVerifier

    verifier = CredentialVerifier(postgres=pool, redis=redis_client)    # + issuer=, audience=, prefix=
    await verifier.start()      # registry/keyring migrations, loads public keys, joins the invalidation bus
    try:
        principal = await verifier.authenticate(authorization, api_key)   # raises AuthError
        principal.tenant.name, principal.tenant.plan, principal.tenant.limits
    finally:
        await verifier.close()

or ``async with CredentialVerifier(...) as verifier:``. ``authorization`` is the raw ``Authorization``
header (``Bearer <jwt>`` or ``Bearer bk_...``), ``api_key`` the raw ``X-API-Key`` header (gRPC:
the ``authorization`` / ``x-api-key`` metadata). The tenant always comes from the credential.

Credentials:

- API keys ``bk_<id>_<secret>``: the row is found by id, the secret compared with the stored
  SHA-256 in constant time. Unknown id and wrong secret give the same answer (``unknown_key``).
- Tokens: ES256 JWTs issued by :class:`barista_core.auth.tokens.TokenIssuer`. The header's ``alg``
  must be exactly the algorithm recorded with the published key named by ``kid`` (so ``none``
  and HS256-with-the-public-key are refused before any verification); ``iss``/``aud`` must match;
  ``exp``/``nbf``/``iat`` are checked with ``leeway`` seconds; the session (``sid``) must exist in
  Redis and the API key that minted the token must not be revoked.

Caching (the hot path does no I/O when everything is cached):

- verified claims by token string until the token expires (signature checks cost ~60-180 µs,
  a cache hit well under 1 µs); the session is re-checked in Redis every ``session_recheck``
  seconds and dropped at once when ``session:<id>`` arrives on the bus (logout);
- tenant records and API-key rows in-process for ``cache_ttl`` seconds, dropped when the registry
  announces a change for the tenant (PostgreSQL NOTIFY bridged onto Redis pub/sub, see
  :mod:`barista_core.auth.bus`); while the bus is disconnected entries live at most 2 s;
- rejected tokens for 30 s (a replayed bad token costs one dict lookup, not a signature check).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import jwt
import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool

from barista_core.auth.apikeys import parse_api_key, secret_matches
from barista_core.auth.bus import InvalidationBus
from barista_core.auth.keyring import PublicKey, ensure_keyring, load_public_keys
from barista_core.auth.sessions import SessionStore
from barista_core.errors import BaristaError
from barista_core.registry import ApiKeyRecord, TenantRecord, ensure_registry, find_api_key, get_tenant

T = TypeVar("T")
MAX_TOKEN_LENGTH = 4096
_KEY_RELOAD_SPACING = 0.05  # seconds between reloads of the published keys on unknown kids
_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "sid"]
#: Rejections that stay true for the same token string (so they may be remembered).
_STABLE_REJECTIONS = frozenset(
    {"malformed", "bad_signature", "wrong_issuer", "wrong_audience", "unsupported_algorithm", "expired"}
)


class AuthError(BaristaError):
    """A credential was refused. ``code`` is machine-readable, ``status`` is 401 or 403."""

    def __init__(self, code: str, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: TenantRecord
    kind: Literal["api_key", "jwt"]
    key_id: str | None
    session_id: str | None
    expires_at: float | None


@dataclass(slots=True)
class _Claims:
    tenant: str
    session_id: str
    key_id: str | None
    kid: str
    expires_at: float
    checked_at: float  # monotonic time the session was last seen in Redis
    principal: Principal | None = None


_MISSING: Any = object()


class CredentialVerifier:
    def __init__(
        self,
        *,
        postgres: AsyncConnectionPool,
        redis: aioredis.Redis,
        issuer: str = "barista",
        audience: str = "barista-api",
        prefix: str = "barista:",
        leeway: float = 5.0,
        cache_ttl: float = 60.0,
        session_recheck: float = 10.0,
        max_cached_tokens: int = 100_000,
        only_tenant: str | None = None,
        bus: InvalidationBus | None = None,
    ) -> None:
        self.postgres = postgres
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.cache_ttl = cache_ttl
        self.session_recheck = session_recheck
        self.max_cached_tokens = max_cached_tokens
        self.only_tenant = only_tenant
        self.sessions = SessionStore(redis, prefix=prefix)
        self._own_bus = bus is None
        self.bus = bus or InvalidationBus(redis, prefix=prefix, postgres=postgres)
        self.bus.subscribe(self._on_invalidate)
        self._claims: dict[str, _Claims] = {}
        self._rejected: dict[str, tuple[AuthError, float]] = {}
        self._tenants: dict[str, tuple[TenantRecord | None, float]] = {}
        self._api_keys: dict[str, tuple[ApiKeyRecord | None, float]] = {}
        self._key_principals: dict[str, Principal] = {}
        self._revoked_sessions: dict[str, float] = {}
        self._public_keys: dict[str, PublicKey] = {}
        self._keys_loaded_at = float("-inf")
        self._unknown_kids: dict[str, float] = {}
        self._epoch = 0
        self._inflight: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._background: set[asyncio.Task[None]] = set()

    # ---- lifecycle -----------------------------------------------------------------------------------

    async def start(self) -> None:
        await ensure_registry(self.postgres)
        await ensure_keyring(self.postgres)
        await self._reload_keys()
        if self._own_bus:
            await self.bus.start()

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._own_bus:
            await self.bus.close()

    async def __aenter__(self) -> CredentialVerifier:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- the one entry point -------------------------------------------------------------------------

    async def authenticate(self, authorization: str | None, api_key: str | None) -> Principal:
        """The principal behind the request's credentials; raises :class:`AuthError`."""
        if authorization:
            scheme, _, value = authorization.strip().partition(" ")
            value = value.strip()
            if scheme.lower() != "bearer" or not value:
                raise AuthError("malformed", "the Authorization header must be 'Bearer <token or API key>'")
            if api_key and api_key.strip() != value:
                raise AuthError("ambiguous_credentials", "send either an Authorization header or X-API-Key, not both")
            if value.startswith("bk_"):
                return await self._from_api_key(value)
            return await self._from_token(value)
        if api_key:
            return await self._from_api_key(api_key.strip())
        raise AuthError("missing_credentials", "send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'")

    async def revoke_session(self, session_id: str) -> bool:
        """Logout: the session's tokens stop verifying here at once and on every replica."""
        existed = await self.sessions.revoke(session_id)
        self.bus.deliver_locally("session", session_id)
        await self.bus.publish("session", session_id)
        return existed

    async def tenant(self, name: str) -> TenantRecord | None:
        """The tenant's registry record (cached; invalidated on change)."""
        found = self._peek(self._tenants, name)
        if found is not _MISSING:
            return found
        return await self._load(self._tenants, "tenant", name, lambda: get_tenant(self.postgres, name))

    # ---- API keys ------------------------------------------------------------------------------------

    async def _from_api_key(self, value: str) -> Principal:
        parsed = parse_api_key(value)
        if parsed is None:
            raise AuthError("malformed", "not a Barista API key (bk_<id>_<secret>)")
        record = await self._api_key(parsed.key_id)
        if record is None or not secret_matches(parsed.secret, record.secret_hash):
            raise AuthError("unknown_key", "unknown API key")
        if record.revoked:
            raise AuthError("revoked", "this API key has been revoked")
        tenant = await self._active_tenant(record.tenant)
        principal = self._key_principals.get(record.key_id)
        if principal is None or principal.tenant is not tenant:
            principal = Principal(tenant=tenant, kind="api_key", key_id=record.key_id, session_id=None, expires_at=None)
            self._key_principals[record.key_id] = principal
        return principal

    async def _api_key(self, key_id: str) -> ApiKeyRecord | None:
        found = self._peek(self._api_keys, key_id)
        if found is not _MISSING:
            return found
        return await self._load(self._api_keys, "key", key_id, lambda: find_api_key(self.postgres, key_id))

    # ---- tokens --------------------------------------------------------------------------------------

    async def _from_token(self, token: str) -> Principal:
        now = time.time()
        claims = self._claims.get(token)
        if claims is None:
            claims = await self._verify_token(token, now)
        elif now >= claims.expires_at + self.leeway:
            self._claims.pop(token, None)
            raise AuthError("expired", "the token has expired")
        if claims.session_id in self._revoked_sessions:
            self._claims.pop(token, None)
            raise AuthError("revoked", "this session has been revoked (logged out)")
        if time.monotonic() - claims.checked_at > self.session_recheck:
            # one look in Redis per token, however many of its requests are in flight when it falls due
            await self._single_flight(("session", token), lambda: self._check_session(claims, token))
        tenant = await self._active_tenant(claims.tenant)
        if claims.key_id:
            record = await self._api_key(claims.key_id)
            if record is None or record.revoked or record.tenant != claims.tenant:
                raise AuthError("revoked", "the API key that issued this token has been revoked")
        principal = claims.principal
        if principal is None or principal.tenant is not tenant:
            principal = claims.principal = Principal(
                tenant=tenant,
                kind="jwt",
                key_id=claims.key_id,
                session_id=claims.session_id,
                expires_at=claims.expires_at,
            )
        return principal

    async def _verify_token(self, token: str, now: float) -> _Claims:
        rejected = self._rejected.get(token)
        if rejected is not None and now < rejected[1]:
            raise rejected[0]
        try:
            claims = await self._verify_signature_and_claims(token)
        except AuthError as exc:
            if exc.code in _STABLE_REJECTIONS:
                if len(self._rejected) >= 10_000:
                    self._rejected.clear()
                self._rejected[token] = (exc, now + 30.0)
            raise
        await self._check_session(claims, token)
        if len(self._claims) >= self.max_cached_tokens:
            self._evict_claims()
        self._claims[token] = claims
        return claims

    async def _verify_signature_and_claims(self, token: str) -> _Claims:
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthError("malformed", "the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed", "the token is not a JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("malformed", "the token names no signing key (kid)")
        if not isinstance(alg, str) or alg.lower() == "none" or not alg.startswith("ES"):
            raise AuthError("unsupported_algorithm", f"tokens must be signed with ES256, not {alg!r}")
        key = await self._public_key(kid)
        if key is None:
            raise AuthError("unknown_kid", "the token was signed with a key that is unknown or retired")
        if alg != key.alg:
            raise AuthError("unsupported_algorithm", f"key {kid} signs with {key.alg}, not {alg}")
        try:
            payload = jwt.decode(
                token,
                key.key,
                algorithms=[key.alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.InvalidSignatureError:
            raise AuthError("bad_signature", "the token's signature does not verify") from None
        except jwt.ExpiredSignatureError:
            raise AuthError("expired", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("not_yet_valid", "the token is not valid yet") from None
        except jwt.InvalidIssuerError:
            raise AuthError("wrong_issuer", "the token was issued by someone else") from None
        except jwt.InvalidAudienceError:
            raise AuthError("wrong_audience", "the token is meant for another audience") from None
        except jwt.InvalidAlgorithmError:
            raise AuthError("unsupported_algorithm", "the token's algorithm is not accepted") from None
        except jwt.PyJWTError as exc:
            raise AuthError("malformed", f"the token is malformed: {exc}") from None
        sub, sid, akid, exp = payload.get("sub"), payload.get("sid"), payload.get("akid"), payload.get("exp")
        if not isinstance(sub, str) or not isinstance(sid, str) or not isinstance(exp, int | float):
            raise AuthError("malformed", "the token's claims are malformed")
        if akid is not None and not isinstance(akid, str):
            raise AuthError("malformed", "the token's claims are malformed")
        return _Claims(tenant=sub, session_id=sid, key_id=akid, kid=kid, expires_at=float(exp), checked_at=0.0)

    async def _check_session(self, claims: _Claims, token: str) -> None:
        started = self._epoch
        if not await self.sessions.exists(claims.session_id):
            self._claims.pop(token, None)
            self._revoked_sessions[claims.session_id] = claims.expires_at + self.leeway
            raise AuthError("revoked", "this session has ended (logged out or revoked)")
        if claims.session_id in self._revoked_sessions:  # revoked while we were asking
            raise AuthError("revoked", "this session has been revoked (logged out)")
        if started == self._epoch:
            claims.checked_at = time.monotonic()

    async def _public_key(self, kid: str) -> PublicKey | None:
        key = self._public_keys.get(kid)
        now = time.time()
        if key is not None and key.expires_at > now:
            return key
        if self._unknown_kids.get(kid, 0.0) > now:
            return None
        # unknown or lapsed here: another replica may have published or renewed it just now. Reloads
        # are spaced 50 ms apart (one within 50 ms of the last waits for its turn rather than being
        # skipped: a key published in between must be found) and a kid still unknown afterwards is
        # remembered for a second, so a flood of made-up kids costs at most 20 queries a second.
        pending = self._inflight.get(("keys", ""))
        if pending is not None:  # a reload is under way (e.g. a rotation was just announced): its answer counts
            await asyncio.shield(pending)
        else:
            await self._single_flight(("keys", ""), self._spaced_reload)
        key = self._public_keys.get(kid)
        if key is not None and key.expires_at > now:
            return key
        if len(self._unknown_kids) >= 10_000:
            self._unknown_kids.clear()
        self._unknown_kids[kid] = now + 1.0
        return None

    async def _spaced_reload(self) -> None:
        wait = _KEY_RELOAD_SPACING - (time.monotonic() - self._keys_loaded_at)
        if wait > 0:
            await asyncio.sleep(wait)
        await self._reload_keys()

    async def _reload_keys(self) -> None:
        self._keys_loaded_at = time.monotonic()
        self._public_keys = await load_public_keys(self.postgres)

    async def _prune_withdrawn_keys(self) -> None:
        try:
            await self._single_flight(("keys", ""), self._reload_keys)
        except Exception:  # the next unknown kid retries the load
            return
        for token in [t for t, c in self._claims.items() if c.kid not in self._public_keys]:
            del self._claims[token]

    def _evict_claims(self) -> None:
        now = time.time()
        for token in [t for t, c in self._claims.items() if c.expires_at + self.leeway <= now]:
            del self._claims[token]
        while len(self._claims) >= self.max_cached_tokens:  # still full: drop the oldest tenth
            for token in list(self._claims)[: max(1, self.max_cached_tokens // 10)]:
                del self._claims[token]
        for sid in [s for s, until in self._revoked_sessions.items() if until <= now]:
            del self._revoked_sessions[sid]

    # ---- tenants -------------------------------------------------------------------------------------

    async def _active_tenant(self, name: str) -> TenantRecord:
        tenant = await self.tenant(name)
        if tenant is None:
            raise AuthError("unknown_tenant", "the credential's tenant does not exist")
        if self.only_tenant is not None and tenant.name != self.only_tenant:
            raise AuthError("wrong_tenant", "this gateway serves another tenant", status=403)
        if tenant.state != "active":
            raise AuthError("tenant_suspended", f"tenant {tenant.name} is suspended", status=403)
        return tenant

    # ---- caching helpers -----------------------------------------------------------------------------

    def _peek(self, cache: dict[str, tuple[Any, float]], name: str) -> Any:
        """The cached value (None included), or ``_MISSING`` when absent or too old."""
        entry = cache.get(name)
        if entry is None:
            return _MISSING
        ttl = self.cache_ttl if self.bus.connected else min(self.cache_ttl, 2.0)
        if entry[0] is None:
            ttl = min(ttl, 5.0)  # negative answers are kept briefly
        return entry[0] if time.monotonic() - entry[1] < ttl else _MISSING

    async def _load(
        self,
        cache: dict[str, tuple[T | None, float]],
        kind: str,
        name: str,
        load: Callable[[], Awaitable[T | None]],
    ) -> T | None:
        async def fetch() -> T | None:
            epoch = self._epoch
            value = await load()
            if epoch == self._epoch:  # nothing was invalidated while we were loading
                cache[name] = (value, time.monotonic())
            return value

        return await self._single_flight((kind, name), fetch)

    async def _single_flight(self, key: tuple[str, str], run: Callable[[], Awaitable[T]]) -> T:
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await run()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[key]

    def _on_invalidate(self, kind: str, value: str) -> None:
        if kind == "tenant":
            self._epoch += 1
            self._tenants.pop(value, None)
            for key_id, (record, _) in list(self._api_keys.items()):
                if record is None or record.tenant == value:
                    del self._api_keys[key_id]
                    self._key_principals.pop(key_id, None)
        elif kind == "session":
            if len(self._revoked_sessions) > 50_000:
                now = time.time()
                for sid in [s for s, until in self._revoked_sessions.items() if until <= now]:
                    del self._revoked_sessions[sid]
            self._revoked_sessions[value] = time.time() + 86_400.0
        elif kind == "keys":
            # a key was added (rotation) or withdrawn (compromise): reload, then forget what it verified
            self._keys_loaded_at = float("-inf")
            self._unknown_kids.clear()
            self._rejected.clear()
            task = asyncio.get_running_loop().create_task(self._prune_withdrawn_keys())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        elif kind == "all":
            self._epoch += 1
            self._tenants.clear()
            self._api_keys.clear()
            self._key_principals.clear()
            self._keys_loaded_at = float("-inf")
            self._unknown_kids.clear()
            for claims in self._claims.values():
                claims.checked_at = 0.0  # sessions may have ended while we were not listening
