"""How components are started: their settings classes (env names, defaults, bounds).

They live in core so the operator can render a sinker's or worker's environment without importing
the component. Fields holding credentials are ``SecretStr``: ``to_env()`` leaves them out, and the
operator injects them from Secrets instead.
"""

from barista_core.contracts.common import ComponentSettings
from barista_core.contracts.gateway import GatewaySettings, RouteSpec
from barista_core.contracts.ingest import IngestSettings
from barista_core.contracts.sinker import SinkerSettings
from barista_core.contracts.worker import WorkerSettings

__all__ = ["ComponentSettings", "GatewaySettings", "IngestSettings", "RouteSpec", "SinkerSettings", "WorkerSettings"]
