"""Settings of the DAG factory and the step runners (environment, prefix ``BARISTA_``).

The Helm chart hands Airflow ``BARISTA_CLICKHOUSE_URL`` and ``BARISTA_POSTGRES_URL`` (from the
backend Secrets) and the DAG module name; everything else has a default that fits the pipelines image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from barista_core.errors import ConfigError
from barista_core.settings import BaristaSettings

#: Where the pipelines image puts the dbt project (components/pipelines/Dockerfile).
IMAGE_DBT_PROJECT = Path("/opt/barista/dbt")


class PipelinesSettings(BaristaSettings):
    clickhouse_url: SecretStr | None = Field(default=None, description="clickhouse://… or chdb:///path")
    postgres_url: SecretStr | None = Field(default=None, description="postgresql://… or pgserver:///path")
    pipelines_spec_dir: Path | None = Field(
        default=None, description="Directory of DAG spec JSON files (*.json), read besides or instead of ConfigMaps."
    )
    pipelines_kubernetes: Literal["auto", "true", "false"] = Field(
        default="auto",
        description="Read DAG specs from ConfigMaps labelled barista.dev/dag-spec=true; auto: when running in a pod.",
    )
    pipelines_namespaces: list[str] = Field(
        default_factory=list, description="Only these namespaces (JSON list); empty: every namespace."
    )
    pipelines_kubernetes_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="API timeout.")
    dbt_project_dir: Path | None = Field(default=None, description="The dbt project (default: the image's or repo's).")
    dbt_threads: int = Field(default=4, ge=1, le=32, description="dbt threads per run.")
    pipelines_work_dir: Path | None = Field(
        default=None,
        description="Keep dbt's parsed project here between runs (one subdirectory per tenant); unset: a "
        "temporary directory per run (every run parses the whole project).",
    )
    pipelines_scorer: str | None = Field(
        default=None, description="module:function of the batch scorer the score step calls (see runners.score)."
    )
    pipelines_sync_batch_rows: int = Field(default=10_000, ge=100, le=1_000_000, description="Rows per sync batch.")

    def require_clickhouse(self) -> str:
        if self.clickhouse_url is None:
            raise ConfigError("BARISTA_CLICKHOUSE_URL is required to run pipeline steps")
        return self.clickhouse_url.get_secret_value()

    def require_postgres(self) -> str:
        if self.postgres_url is None:
            raise ConfigError("BARISTA_POSTGRES_URL is required to run sync steps")
        return self.postgres_url.get_secret_value()

    def dbt_project(self) -> Path:
        return resolve_dbt_project(self.dbt_project_dir)


def resolve_dbt_project(configured: Path | None = None) -> Path:
    """The dbt project: as configured, else the image's, else the repository's ``dbt/`` (a checkout)."""
    candidates = [configured] if configured else [IMAGE_DBT_PROJECT, *_repository_dbt()]
    for candidate in candidates:
        if candidate is not None and (candidate / "dbt_project.yml").is_file():
            return candidate
    where = ", ".join(str(c) for c in candidates if c is not None)
    raise ConfigError(f"no dbt project (dbt_project.yml) at {where}; set BARISTA_DBT_PROJECT_DIR")


def _repository_dbt() -> list[Path]:
    here = Path(__file__).resolve()
    return [parent / "dbt" for parent in here.parents if (parent / "dbt" / "dbt_project.yml").is_file()][:1]
