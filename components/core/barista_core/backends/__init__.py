"""Backend connectors chosen by URL scheme. One factory per backend; errors name the (masked) URL."""

from barista_core.backends.broker import open_broker
from barista_core.backends.clickhouse import open_clickhouse
from barista_core.backends.postgres import open_postgres, postgres_conninfo
from barista_core.backends.redis import open_redis, redis_url

__all__ = ["open_broker", "open_clickhouse", "open_postgres", "open_redis", "postgres_conninfo", "redis_url"]
