"""``python -m barista_scoring serve`` (the HTTP API) or ``python -m barista_scoring batch`` (one batch run)."""

from __future__ import annotations

import argparse
import sys

from barista_core.errors import BaristaError
from barista_core.logging import configure_logging, get_logger
from barista_scoring.settings import ScoringSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m barista_scoring", description="Barista scoring component")
    parser.add_argument(
        "mode", nargs="?", default="serve", choices=["serve", "batch"],
        help="serve the HTTP API (default), or run the ClickHouse batch once",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        settings = ScoringSettings.load()
        configure_logging(settings.log_level, settings.log_format, component="scoring")
        if args.mode == "serve":
            import uvicorn

            from barista_scoring.api import create_app

            app = create_app(max_body_bytes=settings.max_body_bytes)
            uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False)
            return 0
        from barista_core.backends import open_clickhouse
        from barista_scoring.batch import run_batch
        from barista_scoring.scorer import default_scorer

        if settings.clickhouse_url is None:
            raise BaristaError("BARISTA_CLICKHOUSE_URL is required for the batch mode")
        client = open_clickhouse(settings.clickhouse_url.get_secret_value())
        report = run_batch(
            client,
            default_scorer(),
            database=settings.clickhouse_database,
            snapshots_table=settings.snapshots_table,
            since_hours=settings.batch_since_hours,
            chunk=settings.batch_chunk,
        )
        get_logger("barista_scoring").info("done", profiles=report.profiles, creators=report.creators)
        return 0
    except BaristaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
