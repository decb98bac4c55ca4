"""Shared helpers for the pipelines tests: the ingest sinker's real events table, snapshot events, specs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from barista_core.events.table import EVENT_COLUMN_NAMES, EVENT_COLUMN_TYPES, ensure_events_table
from barista_ingest.sink.clickhouse import event_columns

ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = ROOT / "dbt"
CHART_DAG_FILE = ROOT / "charts" / "barista" / "files" / "airflow" / "barista_dags.py"


def make_spec(tenant: str = "acme", pipeline: str = "leaderboards", **overrides: Any) -> dict[str, Any]:
    """A DAG spec as the operator renders it (camelCase wire form)."""
    spec: dict[str, Any] = {
        "format": "barista.dev/dag-spec/v1",
        "dagId": f"{tenant}__{pipeline}",
        "tenant": tenant,
        "pipeline": pipeline,
        "namespace": f"tenant-{tenant}",
        "schedule": "0 * * * *",
        "paused": False,
        "retries": 2,
        "timeoutMinutes": 60,
        "steps": [
            {
                "name": "models",
                "type": "dbt",
                "after": [],
                "dbt": {"select": ["tag:leaderboard"], "exclude": [], "fullRefresh": False, "vars": {}},
            },
            {"name": "score", "type": "score", "after": ["models"], "score": {"since": "24h"}},
            {
                "name": "publish",
                "type": "sync",
                "after": ["score"],
                "sync": {
                    "source": "mart_leaderboards",
                    "target": "leaderboards",
                    "key": ["platform", "dimension", "creator_id"],
                    "mode": "replace",
                },
            },
        ],
    }
    spec.update(overrides)
    return spec


def write_spec(directory: Path, spec: dict[str, Any]) -> Path:
    path = directory / f"{spec['dagId']}.json"
    path.write_text(json.dumps(spec, indent=2))
    return path


class Events:
    """Builds events the way clients send them and writes them with the ingest sinker's column mapping."""

    def __init__(self, tenant: str = "acme", now: datetime | None = None) -> None:
        self.tenant = tenant
        self.now = now or datetime.now(UTC).replace(microsecond=0)
        self.items: list[dict[str, Any]] = []

    def add(self, event_type: str, properties: dict[str, Any], *, days_ago: float = 0.0) -> dict[str, Any]:
        event = {
            "id": str(uuid.uuid4()),
            "type": event_type,
            "occurred_at": (self.now - timedelta(days=days_ago)).isoformat(),
            "properties": properties,
        }
        self.items.append(event)
        return event

    def profile(self, platform: str, handle: str, followers: int, *, days_ago: float = 0.0, **extra: Any) -> None:
        self.add(
            "profile.snapshot",
            {"platform": platform, "handle": handle, "followers": followers, **extra},
            days_ago=days_ago,
        )

    def write(self, client: Any, database: str, table: str = "events") -> int:
        if not self.items:
            return 0
        client.insert(
            f"`{database}`.`{table}`",
            event_columns(self.tenant, self.items),
            column_names=EVENT_COLUMN_NAMES,
            column_type_names=EVENT_COLUMN_TYPES,
            column_oriented=True,
        )
        written = len(self.items)
        self.items = []
        return written


@pytest.fixture
def events_table(clickhouse: Any, ch_database: str) -> str:
    """The tenant events table, created by the ingest sinker's own migrations, in a fresh database."""
    ensure_events_table(clickhouse, ch_database)
    return ch_database
