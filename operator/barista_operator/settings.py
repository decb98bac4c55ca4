"""The operator's own settings (environment, prefix BARISTA_OPERATOR_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from barista_core.settings import BaristaSettings


class OperatorSettings(BaristaSettings):
    model_config = SettingsConfigDict(env_prefix="BARISTA_OPERATOR_")

    peering_name: str = Field(default="barista", description="kopf peering object; one active operator per name.")
    standalone: bool = Field(default=False, description="Run without peering (development, tests).")
    priority: int = Field(default=100, ge=0, description="Peering priority; the highest alive operator works.")
    probe_port: int = Field(default=8080, ge=1, le=65535, description="Port of /healthz.")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$", description="Log level.")
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$", description="Log format.")
