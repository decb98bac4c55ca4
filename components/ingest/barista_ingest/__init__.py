"""Barista ingest: the gRPC EventService (``serve``) and the per-Sink sinkers (``sink``).

The event catalogue, validation and confirmed publishing live in :mod:`barista_core.events` (the
gateway's JSON bridge shares them); this package adds the gRPC transport, the sinker loop and its
ClickHouse and webhook writers, and the ``barista up`` service (:mod:`barista_ingest.embedded`).
"""
