"""Barista gateway: the secure, cached, plan-aware front door and the tenant API.

``python -m barista_gateway`` serves it; :func:`barista_gateway.main.create_app` builds the ASGI app;
:mod:`barista_gateway.embedded` runs it inside ``barista up``.
"""
