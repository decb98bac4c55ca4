"""Assembles the tenant API's routers."""

from __future__ import annotations

from fastapi import APIRouter

from barista_gateway.api.routes import auth, collections, events, leaderboards, profiles, tenants

api_router = APIRouter()
for module in (auth, tenants, profiles, collections, leaderboards, events):
    api_router.include_router(module.router)
