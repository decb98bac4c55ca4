"""``python -m barista_operator``: run the kopf operator for Barista's four resources."""

from __future__ import annotations

import asyncio
import sys

import kopf

from barista_core.errors import BaristaError
from barista_core.logging import configure_logging
from barista_core.tuning import freeze_startup, tune_process
from barista_operator.settings import OperatorSettings


def main() -> int:
    try:
        settings = OperatorSettings.load()
    except BaristaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format, component="operator")  # type: ignore[arg-type]
    import barista_operator.handlers  # noqa: F401  (registers the handlers)

    # the heap holds every watched object: full collections over it took a quarter of the CPU (see tuning)
    tune_process()
    freeze_startup()

    asyncio.run(
        kopf.operator(
            clusterwide=True,
            standalone=settings.standalone,
            priority=settings.priority,
            # a peering name makes peering mandatory (kopf then waits for its CRD), even when standalone
            peering_name=None if settings.standalone else settings.peering_name,
            liveness_endpoint=f"http://0.0.0.0:{settings.probe_port}/healthz",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
