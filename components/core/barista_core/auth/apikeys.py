"""Tenant API keys: ``bk_<key id>_<secret>``. Only a SHA-256 of the secret is ever stored.

The key id is public (it locates the row); the 256-bit secret is compared in constant time.
SHA-256 rather than a slow KDF is right here: the secret is random, not a password.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "bk"
_PATTERN = re.compile(r"^bk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    secret: str

    @property
    def token(self) -> str:
        """What the tenant sends (``x-api-key`` header). Never log it."""
        return f"{PREFIX}_{self.key_id}_{self.secret}"

    @property
    def secret_hash(self) -> bytes:
        return hash_secret(self.secret)

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"ApiKey(key_id={self.key_id!r}, secret=***)"


def generate_api_key() -> ApiKey:
    return ApiKey(key_id=secrets.token_hex(8), secret=secrets.token_urlsafe(32))


def parse_api_key(token: str) -> ApiKey | None:
    """The key in ``token``, or None when it is not shaped like a Barista API key."""
    match = _PATTERN.match(token.strip())
    return ApiKey(match.group(1), match.group(2)) if match else None


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def secret_matches(secret: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_secret(secret), bytes(stored_hash))
