"""The score step: the scoring component's batch mode over the followers dbt staged for it.

dbt builds ``scoring_follower_snapshots`` (a view in exactly the shape ``barista_scoring.batch`` reads:
creator_id, follower_handle, full_name, biography, follower/following/post counts, has_profile_pic,
is_private, is_verified, external_url, observed_at — one row per ``follower.snapshot`` event). The batch
scores the newest snapshot of every follower seen within ``since`` and writes ``follower_scores`` and
``creator_fake_share`` in the tenant database; dbt's ``stg_scoring__creator_fake_shares`` reads the
latter into the creator marts (``fake_follower_share``).

The batch is a callable, found at run time (components do not import each other at import time)::

    batch(client, *, database: str, snapshots_table: str, since_hours: float) -> report

:func:`resolve_batch` gives ``barista_scoring.batch.run_batch`` with the packaged default scorer when
the scoring package is installed, or the ``module:function`` named by ``BARISTA_PIPELINES_SCORER``.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from barista_core.errors import ConfigError
from barista_core.logging import get_logger
from barista_core.naming import tenant_database
from barista_pipelines.spec import ScoreStep

log = get_logger(__name__)

Batch = Callable[..., Any]
#: The dbt model the batch reads (models/marts/scoring/scoring_follower_snapshots.sql).
SNAPSHOTS_MODEL = "scoring_follower_snapshots"


class ScoreStepError(RuntimeError):
    """The score step cannot run (the snapshot model is missing, the batch failed)."""


class ScorerUnavailable(ConfigError):
    """No batch scorer is installed or configured."""


@dataclass(frozen=True, slots=True)
class ScoreOutcome:
    database: str
    report: dict[str, Any]
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {"database": self.database, **self.report, "seconds": round(self.seconds, 2)}


def scoring_batch(client: Any, *, database: str, snapshots_table: str, since_hours: float) -> Any:
    """``barista_scoring.batch.run_batch`` with the scoring package's default scorer (names DB + weights)."""
    from barista_scoring.batch import run_batch
    from barista_scoring.scorer import default_scorer

    return run_batch(
        client, default_scorer(), database=database, snapshots_table=snapshots_table, since_hours=since_hours
    )


def resolve_batch(reference: str | None = None) -> Batch:
    """The batch named ``module:function`` (``reference``), else the scoring package's when installed."""
    if reference:
        module_name, _, attribute = reference.partition(":")
        if not module_name or not attribute:
            raise ScorerUnavailable(f"BARISTA_PIPELINES_SCORER={reference!r} must look like module:function")
        try:
            target = getattr(importlib.import_module(module_name), attribute, None)
        except ImportError as exc:
            raise ScorerUnavailable(f"cannot import {module_name!r} (BARISTA_PIPELINES_SCORER): {exc}") from None
        if not callable(target):
            raise ScorerUnavailable(f"BARISTA_PIPELINES_SCORER={reference!r} is not callable")
        return target  # type: ignore[no-any-return]
    try:
        importlib.import_module("barista_scoring.batch")
    except ImportError as exc:
        raise ScorerUnavailable(
            f"no batch scorer here: the scoring package is not installed ({exc}); install barista-scoring "
            "next to barista-pipelines or set BARISTA_PIPELINES_SCORER=module:function"
        ) from None
    return scoring_batch


def run_score(
    step: ScoreStep,
    *,
    tenant: str,
    clickhouse: Any,
    batch: Batch,
    database: str | None = None,
) -> ScoreOutcome:
    """Run ``batch`` over the tenant's follower snapshots of the last ``step.since``."""
    started = time.monotonic()
    database = database or tenant_database(tenant)
    present = clickhouse.query(
        "SELECT count() FROM system.tables WHERE database = {d:String} AND name = {t:String}",
        parameters={"d": database, "t": SNAPSHOTS_MODEL},
    ).result_rows[0][0]
    if not present:
        raise ScoreStepError(
            f"{database}.{SNAPSHOTS_MODEL} does not exist: run a dbt step that builds it (tag:scoring) first"
        )
    since_hours = step.window.total_seconds() / 3600
    log.info("score starting", tenant=tenant, database=database, since_hours=since_hours)
    report = batch(clickhouse, database=database, snapshots_table=SNAPSHOTS_MODEL, since_hours=since_hours)
    outcome = ScoreOutcome(database=database, report=_as_dict(report), seconds=time.monotonic() - started)
    log.info("score done", **outcome.summary())
    return outcome


def _as_dict(report: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        values = dataclasses.asdict(report)
    elif isinstance(report, dict):
        values = dict(report)
    else:
        return {"report": str(report)}
    values.pop("seconds", None)
    return {k: v for k, v in values.items() if isinstance(v, int | float | str | bool)}
