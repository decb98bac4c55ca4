"""Credentials shared by every component.

- :mod:`~barista_core.auth.apikeys` — API keys (``bk_<id>_<secret>``, stored hashed);
- :mod:`~barista_core.auth.verifier` — :class:`CredentialVerifier`: API key or token → :class:`Principal`;
- :mod:`~barista_core.auth.tokens` — :class:`TokenIssuer`: API key → short-lived ES256 JWT + session;
- :mod:`~barista_core.auth.keyring` — signing keys, published public keys, rotation;
- :mod:`~barista_core.auth.sessions` — sessions in Redis (logout);
- :mod:`~barista_core.auth.bus` — the invalidation bus (Redis pub/sub, bridged from PostgreSQL NOTIFY).
"""
