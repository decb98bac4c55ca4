"""The edge: the raw-ASGI hot path in front of the tenant API and the reverse proxy.

Per request, in order: request id, credential → principal (cached), per-tenant rate limit (tokens
leased from Redis), route + feature gate, two-layer cache, then the tenant API (FastAPI) or an
upstream (a pooled keep-alive HTTP/1.1 client, :mod:`barista_gateway.edge.upstream`). Metrics and
one access-log line at the end. Nothing here runs per request that can be done once.
"""
