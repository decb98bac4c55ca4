"""``python -m barista_worker``: run one ScrapeFlow's worker.

Settings come from ``BARISTA_*`` environment variables (:class:`barista_core.contracts.WorkerSettings`,
rendered by the operator); a bad or missing one is reported in one line and the process exits with
status 2. Probes and metrics on ``BARISTA_PROBE_PORT`` (8081).
"""

from __future__ import annotations

import asyncio
import sys

from barista_core.errors import BaristaError


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if args:
        print(f"barista-worker: error: unexpected arguments {' '.join(args)!r} (settings come from BARISTA_*)",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        from barista_core.contracts import WorkerSettings
        from barista_worker.app import serve

        asyncio.run(serve(WorkerSettings.load()))
    except BaristaError as exc:
        print(f"barista-worker: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
