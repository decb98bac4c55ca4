"""Serving: the gateway's own HTTP/1.1 server (see barista_gateway.httpserver) on uvloop, one process."""

from __future__ import annotations

import uvloop
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from barista_core.contracts.gateway import GatewaySettings
from barista_core.health import stop_on_signals
from barista_core.logging import configure_logging, get_logger
from barista_gateway.httpserver import ASGIApp, HttpServer
from barista_gateway.main import create_app

log = get_logger(__name__)


def trusting_proxies(app: ASGIApp, trusted_proxies: str) -> ASGIApp:
    """``app`` taking the client address and scheme from X-Forwarded-* when the peer is a trusted proxy."""
    if not trusted_proxies:
        return app
    return ProxyHeadersMiddleware(app, trusted_hosts=trusted_proxies)  # type: ignore[arg-type,return-value]


async def serve(settings: GatewaySettings) -> None:
    app = trusting_proxies(create_app(settings), settings.trusted_proxies)
    server = HttpServer(app, host=settings.host, port=settings.port)
    stop = stop_on_signals()
    await server.start()
    log.info("gateway listening", host=settings.host, port=server.bound_port)
    try:
        await stop.wait()
    finally:
        await server.shutdown()


def main() -> None:
    settings = GatewaySettings.load()
    configure_logging(settings.log_level, settings.log_format, component="gateway")
    uvloop.run(serve(settings))
