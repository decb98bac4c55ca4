"""Names derived from tenants and resources, in one place: namespaces, databases, queues, exchanges."""

from __future__ import annotations

EVENTS_EXCHANGE = "barista.events"
DEAD_LETTER_EXCHANGE = "barista.dead-letter"
TENANT_NAMESPACE_PREFIX = "tenant-"


def tenant_namespace(tenant: str) -> str:
    return f"{TENANT_NAMESPACE_PREFIX}{tenant}"


def tenant_from_namespace(namespace: str) -> str | None:
    """The tenant owning ``namespace``, or None when it is not a tenant namespace."""
    if namespace.startswith(TENANT_NAMESPACE_PREFIX) and len(namespace) > len(TENANT_NAMESPACE_PREFIX):
        return namespace[len(TENANT_NAMESPACE_PREFIX) :]
    return None


def tenant_database(tenant: str) -> str:
    """The tenant's ClickHouse database (identifiers cannot contain '-')."""
    return "tenant_" + tenant.replace("-", "_")


def tenant_schema(tenant: str) -> str:
    """The tenant's PostgreSQL schema for serving tables."""
    return "tenant_" + tenant.replace("-", "_")


def event_routing_key(tenant: str, event_type: str) -> str:
    return f"{tenant}.{event_type}"


def sink_binding_key(tenant: str, pattern: str) -> str:
    """The binding of a Sink's event-type pattern, scoped to its tenant."""
    return f"{tenant}.{pattern}"


def sink_queue(tenant: str, sink: str) -> str:
    return f"sink.{tenant}.{sink}"


def sink_dead_letter_queue(tenant: str, sink: str) -> str:
    return f"sink.{tenant}.{sink}.dead"
