"""Issuing short-lived tokens (ES256 JWTs) in exchange for an API key, with rotation and sessions.

The issuer signs with one private key at a time. The key is either configured (a PEM from a Secret;
rotated by deploying a new one) or generated in memory at start and rotated every
``rotate_every`` seconds; in both cases its public half is published in ``barista.jwt_keys``
(see :mod:`barista_core.auth.keyring`) before the first token is signed and renewed while in use.

Claims: ``iss``, ``aud``, ``sub`` (tenant), ``sid`` (session), ``akid`` (the API key that minted
it), ``iat``, ``nbf``, ``exp``; header ``kid`` and ``alg: ES256``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import jwt
import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool

from barista_core.auth.bus import InvalidationBus
from barista_core.auth.keyring import (
    SigningKey,
    ensure_keyring,
    generate_signing_key,
    load_public_keys,
    publish_key,
)
from barista_core.auth.sessions import SessionStore
from barista_core.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    session_id: str
    expires_at: float
    expires_in: int
    kid: str

    def __repr__(self) -> str:  # the token is a credential
        return f"IssuedToken(session_id={self.session_id!r}, expires_in={self.expires_in}, kid={self.kid!r})"


class TokenIssuer:
    def __init__(
        self,
        *,
        postgres: AsyncConnectionPool,
        redis: aioredis.Redis,
        issuer: str = "barista",
        audience: str = "barista-api",
        ttl: float = 900.0,
        signing_key: SigningKey | None = None,
        rotate_every: float = 86_400.0,
        heartbeat: float = 60.0,
        prefix: str = "barista:",
        bus: InvalidationBus | None = None,
    ) -> None:
        self.postgres = postgres
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        self.sessions = SessionStore(redis, prefix=prefix)
        self.bus = bus
        self._configured = signing_key is not None
        self._key = signing_key or generate_signing_key()
        self._rotate_every = rotate_every
        self._heartbeat = heartbeat
        self._rotated_at = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._jwks: tuple[float, dict[str, Any]] | None = None

    @property
    def key_validity(self) -> float:
        """How long a published key stays valid without renewal: every token it signed has expired by then."""
        return self.ttl + 2 * self._heartbeat + 60.0

    @property
    def current_kid(self) -> str:
        return self._key.kid

    async def start(self) -> None:
        await ensure_keyring(self.postgres)
        await publish_key(self.postgres, self._key, valid_for=self.key_validity)
        if self.bus:  # verifiers learn the new kid at once (they would also look it up on first sight)
            await self.bus.publish("keys")
        self._task = asyncio.create_task(self._maintain(), name="barista-token-keys")

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def rotate(self, new_key: SigningKey | None = None) -> SigningKey:
        """Publish a new key, then sign with it. The old key keeps verifying until its tokens have expired."""
        key = new_key or generate_signing_key()
        await publish_key(self.postgres, key, valid_for=self.key_validity)
        old, self._key = self._key, key
        self._rotated_at = time.monotonic()
        self._jwks = None
        if self.bus:
            await self.bus.publish("keys")
        log.info("signing key rotated", old_kid=old.kid, new_kid=key.kid)
        return key

    async def issue(self, *, tenant: str, key_id: str | None) -> IssuedToken:
        now = int(time.time())
        exp = now + int(self.ttl)
        session_id = await self.sessions.create(tenant=tenant, key_id=key_id, ttl=self.ttl + 5)
        key = self._key
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": tenant,
            "sid": session_id,
            "akid": key_id,
            "iat": now,
            "nbf": now,
            "exp": exp,
        }
        token = jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": "JWT"})
        return IssuedToken(token=token, session_id=session_id, expires_at=float(exp), expires_in=exp - now, kid=key.kid)

    async def revoke(self, session_id: str) -> bool:
        """End a session (logout): takes effect on every replica at once."""
        existed = await self.sessions.revoke(session_id)
        if self.bus:
            self.bus.deliver_locally("session", session_id)
            await self.bus.publish("session", session_id)
        return existed

    async def jwks(self, *, max_age: float = 5.0) -> dict[str, Any]:
        """The JWK Set of every key that may still verify a token."""
        cached = self._jwks
        if cached and time.monotonic() - cached[0] < max_age:
            return cached[1]
        keys = await load_public_keys(self.postgres)
        body = {"keys": [key.jwk for key in keys.values()]}
        self._jwks = (time.monotonic(), body)
        return body

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                if not self._configured and time.monotonic() - self._rotated_at >= self._rotate_every:
                    await self.rotate()
                else:
                    await publish_key(self.postgres, self._key, valid_for=self.key_validity)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep renewing; the key stays valid for two more heartbeats
                log.warning("could not renew the signing key", error=str(exc)[:200])
