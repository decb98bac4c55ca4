"""The dbt step: ``dbt build`` of Barista's dbt project in the tenant's ClickHouse database.

dbt runs in-process through ``dbtRunner`` with a profile written for this run (its target schema is
the tenant database, :func:`barista_core.naming.tenant_database`); target and log paths go to a
temporary directory, so the project directory may be read-only (it is in the image).

On chdb (``chdb:///path``, for ``barista up`` and tests) dbt-clickhouse has no setting of its own: its
HTTP client factory is pointed at the in-process engine for the run (clients on one path share the
engine, so this works beside the process's other chdb clients). dbt keeps global state, so one
invocation runs at a time per process.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from barista_core.errors import ConfigError
from barista_core.logging import get_logger
from barista_core.naming import tenant_database
from barista_core.urls import local_path_of, mask_url, scheme_of
from barista_pipelines.spec import DbtStep

log = get_logger(__name__)

PROFILE = "barista"
TARGET = "barista"
_CHDB_HOST = "chdb.barista.invalid"  # never resolved: marks the profile whose clients go to chdb
_lock = threading.Lock()


class DbtStepError(RuntimeError):
    """``dbt build`` failed: names the failed models/tests and their messages."""


@dataclass(frozen=True, slots=True)
class NodeResult:
    unique_id: str
    status: str
    message: str
    seconds: float


@dataclass(frozen=True, slots=True)
class DbtOutcome:
    database: str
    nodes: tuple[NodeResult, ...]
    seconds: float

    def count(self, *statuses: str) -> int:
        return sum(1 for n in self.nodes if n.status in statuses)

    def summary(self) -> dict[str, Any]:
        statuses: dict[str, int] = {}
        for node in self.nodes:
            statuses[node.status] = statuses.get(node.status, 0) + 1
        return {
            "database": self.database,
            "nodes": len(self.nodes),
            "statuses": statuses,
            "seconds": round(self.seconds, 2),
        }


def dbt_args(
    step: DbtStep,
    *,
    project_dir: Path,
    work_dir: Path,
    threads: int = 4,
    extra_vars: dict[str, Any] | None = None,
    quiet: bool = False,
    partial_parse: bool = False,
    command: str = "build",
) -> list[str]:
    """The dbt command line for ``step`` (pure). ``command="parse"`` parses with the same profile and vars,
    so a later build in the same ``work_dir`` can reuse the parsed project."""
    variables = {**(extra_vars or {}), **step.vars}
    args = [
        command,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(work_dir),
        "--profile",
        PROFILE,
        "--target",
        TARGET,
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        "--threads",
        str(threads),
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
        "--partial-parse" if partial_parse else "--no-partial-parse",
    ]
    if quiet:
        args += ["--log-level", "warn"]
    if variables:
        args += ["--vars", json.dumps(variables, sort_keys=True, separators=(",", ":"))]
    if command == "parse":
        return args
    if step.select:
        args += ["--select", *step.select]
    if step.exclude:
        args += ["--exclude", *step.exclude]
    if step.full_refresh:
        args.append("--full-refresh")
    return args


def profile_for(clickhouse_url: str, database: str, *, threads: int = 4) -> dict[str, Any]:
    """The profiles.yml content for ``clickhouse_url`` (``clickhouse[s]://`` or ``chdb:///path``)."""
    scheme = scheme_of(clickhouse_url)
    output: dict[str, Any] = {"type": "clickhouse", "schema": database, "threads": threads}
    if scheme == "chdb":
        output.update(host=_CHDB_HOST, port=8123, user="default", password="", check_exchange=True)
    elif scheme in ("clickhouse", "clickhouses", "http", "https"):
        parts = urlsplit(clickhouse_url)
        secure = scheme in ("clickhouses", "https")
        if not parts.hostname:
            raise ConfigError(f"{mask_url(clickhouse_url)}: no host in ClickHouse URL")
        output.update(
            host=parts.hostname,
            port=parts.port or (8443 if secure else 8123),
            user=unquote(parts.username) if parts.username else "default",
            password=unquote(parts.password) if parts.password else "",
            secure=secure,
        )
    else:
        raise ConfigError(f"{mask_url(clickhouse_url)}: unknown ClickHouse URL scheme {scheme!r}")
    return {PROFILE: {"target": TARGET, "outputs": {TARGET: output}}}


class _ChdbConnect:
    """Stands in for the ``clickhouse_connect`` module inside dbt-clickhouse: clients for the profile's
    marker host become chdb clients on ``path``; anything else is the real module."""

    def __init__(self, module: Any, path: str) -> None:
        self._module = module
        self._path = path

    def get_client(self, **kwargs: Any) -> Any:
        if kwargs.get("host") != _CHDB_HOST:
            return self._module.get_client(**kwargs)
        return self._module.get_client(
            interface="chdb", path=self._path, settings=kwargs.get("settings"), query_limit=0
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


@contextmanager
def _chdb_for_dbt(clickhouse_url: str) -> Iterator[None]:
    import clickhouse_connect
    from dbt.adapters.clickhouse import httpclient

    path = local_path_of(clickhouse_url)
    if not path.startswith("/"):
        raise ConfigError(f"{clickhouse_url}: chdb URLs need an absolute path: chdb:///abs/path")
    original = httpclient.clickhouse_connect
    httpclient.clickhouse_connect = _ChdbConnect(clickhouse_connect, path)  # type: ignore[assignment]
    try:
        yield
    finally:
        httpclient.clickhouse_connect = original


def run_dbt(
    step: DbtStep,
    *,
    command: str = "build",
    tenant: str,
    clickhouse_url: str,
    project_dir: Path,
    threads: int = 4,
    extra_vars: dict[str, Any] | None = None,
    quiet: bool = False,
    work_dir: Path | None = None,
    database: str | None = None,
) -> DbtOutcome:
    """``dbt build`` for ``step`` in ``tenant``'s database; raises :class:`DbtStepError` when anything failed.

    ``work_dir`` (per tenant; created if missing) keeps dbt's target directory between runs, so later
    runs parse only what changed; without it every run parses the whole project in a temporary directory.
    ``database`` overrides the tenant's database (tests). ``command="parse"`` only parses the project
    (with the profile and vars of a build of ``step``): run it ahead to make a later build in
    ``work_dir`` start sooner.
    """
    from dbt.cli.main import dbtRunner

    database = database or tenant_database(tenant)
    started = time.monotonic()
    with _work_dir(work_dir) as work, _lock:
        profile = work / "profiles.yml"
        profile.touch(mode=0o600)
        profile.write_text(yaml.safe_dump(profile_for(clickhouse_url, database, threads=threads)))
        args = dbt_args(
            step,
            project_dir=project_dir,
            work_dir=work,
            threads=threads,
            extra_vars=extra_vars,
            quiet=quiet,
            partial_parse=work_dir is not None,
            command=command,
        )
        log.info(
            f"dbt {command}",
            tenant=tenant,
            database=database,
            select=step.select,
            exclude=step.exclude,
            full_refresh=step.full_refresh,
        )
        chdb = scheme_of(clickhouse_url) == "chdb"
        try:
            with _chdb_for_dbt(clickhouse_url) if chdb else nullcontext():
                result = dbtRunner().invoke(args)
        finally:
            _release_dbt_logs()
    nodes = _nodes(result.result)
    outcome = DbtOutcome(database=database, nodes=nodes, seconds=time.monotonic() - started)
    failed = [n for n in nodes if n.status in ("error", "fail", "runtime error")]
    if not result.success or failed:
        details = "; ".join(f"{n.unique_id}: {n.status}: {n.message}" for n in failed[:10])
        if result.exception is not None:
            details = f"{details}; {result.exception}" if details else str(result.exception)
        raise DbtStepError(f"dbt {command} failed in {database}: {details or 'see the dbt log above'}")
    if not nodes and command == "build":
        log.warning("dbt build selected nothing", select=step.select, exclude=step.exclude)
    log.info(f"dbt {command} done", **outcome.summary())
    return outcome


def _release_dbt_logs() -> None:
    """Close the log files dbt opened for this invocation (dbt only drops its loggers, leaking the files)."""
    from dbt_common.events.event_manager_client import cleanup_event_logger, get_event_manager

    for logger in list(get_event_manager().loggers):
        python_logger = getattr(logger, "_python_logger", None)
        for handler in list(getattr(python_logger, "handlers", ())):
            handler.close()
            python_logger.removeHandler(handler)  # type: ignore[union-attr]
    cleanup_event_logger()


@contextmanager
def _work_dir(work_dir: Path | None) -> Iterator[Path]:
    """``work_dir``, held with an exclusive lock (one dbt run per directory across processes), or a temporary one."""
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="barista-dbt-") as tmp:
            yield Path(tmp)
        return
    import fcntl

    work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (work_dir / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield work_dir
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _nodes(result: Any) -> tuple[NodeResult, ...]:
    results: Sequence[Any] = getattr(result, "results", None) or ()
    return tuple(
        NodeResult(
            unique_id=str(getattr(r.node, "unique_id", "?")),
            status=str(getattr(r.status, "value", r.status)),
            message=str(r.message or "")[:500],
            seconds=float(r.execution_time or 0.0),
        )
        for r in results
    )
