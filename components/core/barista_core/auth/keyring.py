"""Token signing keys: private keys stay in the process that signs; public keys are published in PostgreSQL.

Table ``barista.jwt_keys`` (component ``auth`` migrations) holds every public key that may still
verify a token: ``kid``, ``alg``, the public JWK and ``expires_at``. A signer publishes its key
*before* signing anything with it and keeps renewing ``expires_at`` (= now + token TTL + margin)
while it signs. A key nobody renews any more (rotated out, its replica gone) lapses once the last
token it can have signed has expired. Rotation therefore needs no coordination and no downtime:
a new key is published, becomes the signing key, and the old one keeps verifying until it lapses.

Verifiers (gateway, ingest) read the keys; ``/.well-known/jwks.json`` is the same set as JWKS.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from barista_core.errors import ConfigError
from barista_core.migrations import Migration, migrate_postgres

#: The one signing algorithm. Verifiers accept exactly the algorithm recorded with the key.
ALGORITHM = "ES256"

MIGRATIONS = [
    Migration(
        1,
        "jwt signing keys",
        """
        CREATE TABLE barista.jwt_keys (
            kid         text PRIMARY KEY CHECK (kid ~ '^[A-Za-z0-9_-]{8,64}$'),
            alg         text NOT NULL CHECK (alg IN ('ES256')),
            public_jwk  jsonb NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            expires_at  timestamptz NOT NULL
        );
        CREATE INDEX jwt_keys_expires ON barista.jwt_keys (expires_at);
        """,
    ),
]


@dataclass(frozen=True, slots=True)
class PublicKey:
    kid: str
    alg: str
    key: ec.EllipticCurvePublicKey
    jwk: dict[str, Any]
    expires_at: float  # unix seconds


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    private_key: ec.EllipticCurvePrivateKey

    @property
    def public_jwk(self) -> dict[str, Any]:
        return public_jwk(self.private_key.public_key(), self.kid, self.alg)

    def __repr__(self) -> str:  # never print key material
        return f"SigningKey(kid={self.kid!r}, alg={self.alg!r})"


async def ensure_keyring(pool: AsyncConnectionPool) -> None:
    await migrate_postgres(pool, "auth", MIGRATIONS)


def generate_signing_key() -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(kid=thumbprint(private.public_key()), alg=ALGORITHM, private_key=private)


def load_signing_key(pem: str) -> SigningKey:
    """A signing key from a PEM private key (P-256); its ``kid`` is the RFC 7638 thumbprint."""
    try:
        private = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the JWT signing key is not a PEM private key: {exc}") from None
    if not isinstance(private, ec.EllipticCurvePrivateKey) or not isinstance(private.curve, ec.SECP256R1):
        raise ConfigError("the JWT signing key must be an EC P-256 key (ES256)")
    return SigningKey(kid=thumbprint(private.public_key()), alg=ALGORITHM, private_key=private)


def signing_key_pem(key: SigningKey) -> str:
    return key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_jwk(key: ec.EllipticCurvePublicKey, kid: str, alg: str = ALGORITHM) -> dict[str, Any]:
    jwk = ECAlgorithm.to_jwk(key, as_dict=True)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def thumbprint(key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url), shortened to 32 characters."""
    jwk = ECAlgorithm.to_jwk(key, as_dict=True)
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


async def publish_key(pool: AsyncConnectionPool, key: SigningKey, *, valid_for: float) -> None:
    """Publish (or renew) ``key``'s public half, valid for ``valid_for`` seconds from now."""
    async with pool.connection() as conn:
        await conn.execute(
            """
            INSERT INTO barista.jwt_keys (kid, alg, public_jwk, expires_at)
            VALUES (%s, %s, %s, now() + make_interval(secs => %s))
            ON CONFLICT (kid) DO UPDATE SET expires_at = GREATEST(barista.jwt_keys.expires_at, EXCLUDED.expires_at)
            """,
            (key.kid, key.alg, Jsonb(key.public_jwk), valid_for),
        )


async def retire_key(pool: AsyncConnectionPool, kid: str) -> bool:
    """Withdraw a key at once (compromise): tokens signed with it stop verifying everywhere."""
    async with pool.connection() as conn:
        cur = await conn.execute("DELETE FROM barista.jwt_keys WHERE kid = %s", (kid,))
        return cur.rowcount > 0


async def load_public_keys(pool: AsyncConnectionPool) -> dict[str, PublicKey]:
    """Every key still valid, by ``kid``; lapsed rows are pruned on the way."""
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM barista.jwt_keys WHERE expires_at < now() - interval '1 day'")
        cur = await conn.execute(
            "SELECT kid, alg, public_jwk, expires_at FROM barista.jwt_keys WHERE expires_at > now() ORDER BY created_at"
        )
        rows = await cur.fetchall()
    keys: dict[str, PublicKey] = {}
    for kid, alg, jwk, expires_at in rows:
        key = ECAlgorithm.from_jwk(jwk)
        if not isinstance(key, ec.EllipticCurvePublicKey):  # pragma: no cover - the table only takes public JWKs
            continue
        keys[kid] = PublicKey(kid, alg, key, dict(jwk), _epoch(expires_at))
    return keys


def _epoch(value: datetime.datetime) -> float:
    return value.timestamp()
