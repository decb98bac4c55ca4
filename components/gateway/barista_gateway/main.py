"""Builds the gateway app: the FastAPI tenant API behind the edge (auth, limits, gates, cache, proxy)."""

from __future__ import annotations

from fastapi import FastAPI

from barista_core.contracts.gateway import GatewaySettings
from barista_gateway.api.errors import install_error_handlers
from barista_gateway.api.main import api_router
from barista_gateway.edge.app import Edge
from barista_gateway.gateway import Gateway

DESCRIPTION = """
The Barista tenant API. Authenticate with your API key (`X-API-Key: bk_…`) or exchange it for a
short-lived token at `POST /v1/auth/token` and send `Authorization: Bearer <token>`.

Errors are JSON: `{"error": {"code": "...", "message": "...", "request_id": "..."}}`. Every answer
carries `X-Request-ID` and `RateLimit-*` headers; `429` answers carry `Retry-After`. Routes of
features outside your plan answer `403 feature_not_in_plan` naming the plan that has them.
"""


def create_api(gateway: Gateway) -> FastAPI:
    settings = gateway.settings
    api = FastAPI(
        title="Barista API",
        version="1.0",
        description=DESCRIPTION,
        docs_url="/docs" if settings.docs else None,
        redoc_url="/redoc" if settings.docs else None,
        openapi_url="/openapi.json" if settings.docs else None,
    )
    api.state.gateway = gateway
    install_error_handlers(api)
    api.include_router(api_router)
    return api


def create_app(
    settings: GatewaySettings | None = None, *, gateway: Gateway | None = None, manage_lifespan: bool = True
) -> Edge:
    """The ASGI app. Its lifespan starts and stops the gateway (unless ``manage_lifespan`` is False)."""
    if gateway is None:
        gateway = Gateway(settings or GatewaySettings.load())
    return Edge(gateway, create_api(gateway), manage_lifespan=manage_lifespan)
