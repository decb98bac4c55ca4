"""``python -m barista_gateway``: serve the gateway on BARISTA_HOST:BARISTA_PORT (default 0.0.0.0:8080)."""

from barista_gateway.server import main

main()
