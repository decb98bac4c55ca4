"""The components ``barista up`` runs, in one place. Each component exposes ``service()`` returning a
:class:`barista_core.dataplane.Service`; add it to the list when a component joins.

Imports stay inside the function: ``barista --help`` and ``barista validate`` must not pay for importing
every component (gRPC, FastAPI, numpy) they do not use.
"""

from __future__ import annotations

from barista_core.dataplane import Service


def registered_services() -> list[Service]:
    from barista_gateway.embedded import service as gateway_service
    from barista_ingest.embedded import service as ingest_service
    from barista_scoring.embedded import service as scoring_service
    from barista_worker.embedded import service as worker_service

    services = [ingest_service(), gateway_service(), worker_service(), scoring_service()]
    return sorted(services, key=lambda s: s.order)
