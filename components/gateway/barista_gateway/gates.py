"""Which tenant-API paths need which plan feature, and which GET answers may be cached.

The edge enforces gates *before* the cache, so a tenant that loses a feature (plan downgrade) is
refused at once even when answers of that route are still cached. Proxied routes carry their own
``feature`` and ``cache`` in the route table.
"""

from __future__ import annotations

from barista_core.plans import Feature

#: (path prefix, feature) for routes served by the tenant API.
API_GATES: tuple[tuple[str, Feature], ...] = (
    ("/v1/profiles", Feature.DISCOVERY),
    ("/v1/collections", Feature.DISCOVERY),
    ("/v1/leaderboards", Feature.LEADERBOARDS),
)

#: Tenant-API GETs the edge looks up in the cache (they say how long with Cache-Control: max-age).
CACHEABLE_API_PREFIXES: tuple[str, ...] = ("/v1/profiles", "/v1/collections", "/v1/leaderboards")


def _under(path: str, prefix: str) -> bool:
    return path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/")


def api_feature(path: str) -> Feature | None:
    for prefix, feature in API_GATES:
        if _under(path, prefix):
            return feature
    return None


def api_cacheable(path: str) -> bool:
    return any(_under(path, prefix) for prefix in CACHEABLE_API_PREFIXES)
