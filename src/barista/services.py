"""The components ``barista up`` runs, in one place. Each component exposes ``service()`` returning a
:class:`barista_core.dataplane.Service`; add one line here when a component joins."""

from __future__ import annotations

from barista_core.dataplane import Service


def registered_services() -> list[Service]:
    services: list[Service] = []
    # components append here, e.g.:
    #   from barista_ingest.embedded import service as ingest_service; services.append(ingest_service())
    return sorted(services, key=lambda s: s.order)
