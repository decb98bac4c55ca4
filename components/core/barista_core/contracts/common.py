"""Settings every long-running component shares."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from barista_core.settings import BaristaSettings


class ComponentSettings(BaristaSettings):
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Log level.")
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="json in a cluster, console on a terminal; auto picks."
    )
    probe_port: int = Field(default=8081, ge=1, le=65535, description="Port of /healthz, /readyz and /metrics.")
