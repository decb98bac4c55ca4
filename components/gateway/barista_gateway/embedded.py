"""The gateway inside ``barista up``: on the embedded backends, with a demo tenant and demo creators.

Serves on 127.0.0.1:8080 (``BARISTA_GATEWAY_PORT`` to change; a busy port falls back to a free
one). Routes ``/v1/score`` to the scoring service (feature fakeFollowerScoring) when it published an
endpoint named ``scoring``.
The demo exchanges the demo tenant's API key for a token through the running server and prints a
curl line that works.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from barista_core.contracts.gateway import GatewaySettings
from barista_core.dataplane import DataPlane, Service
from barista_gateway.demo import DEMO_TENANT, demo_tenant, seed_creators
from barista_gateway.gateway import Gateway
from barista_gateway.httpserver import HttpServer
from barista_gateway.main import create_app

_STATE_KEY = "gateway"


def service() -> Service:
    return Service(name="gateway", start=_start, demo=_demo, order=70)  # after the services it routes to


def _routes(plane: DataPlane) -> list[dict[str, Any]]:
    """Proxy routes to the services that published an HTTP endpoint before the gateway started."""
    routes = []
    for name, where in plane.endpoints:
        if name == "scoring" and where.startswith("http"):
            parts = urlsplit(where.split()[0])
            routes.append(
                {
                    "prefix": "/v1/score",
                    "upstream": f"{parts.scheme}://{parts.netloc}",
                    "feature": "fakeFollowerScoring",
                }
            )
    return routes


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            sock.close()
            raise
        sock.bind(("127.0.0.1", 0))  # 8080 is taken: any free port will do for a local demo
    sock.listen(1024)
    sock.setblocking(False)
    return sock


@contextlib.asynccontextmanager
async def _start(plane: DataPlane) -> AsyncIterator[None]:
    settings = GatewaySettings(
        postgres_url=plane.postgres_url,
        redis_url=plane.redis_url,
        clickhouse_url=plane.clickhouse_url,
        broker_url=plane.broker_url,
        host="127.0.0.1",
        access_log=False,  # the console belongs to `barista up`
        routes=_routes(plane),
    )
    gateway = Gateway(settings, postgres=plane.postgres, redis=plane.redis, clickhouse=plane.clickhouse,
                      broker=plane.broker)  # fmt: skip
    await gateway.start()
    try:
        tenant = plane.shared.get("demo_tenant", DEMO_TENANT)
        key = await demo_tenant(gateway, plane.data_dir, shared_key=plane.shared.get("demo_api_key"), tenant=tenant)
        await seed_creators(gateway, tenant)
        sock = _bind(int(os.environ.get("BARISTA_GATEWAY_PORT", "8080")))  # 0: any free port
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = HttpServer(create_app(gateway=gateway, manage_lifespan=False), sock=sock, lifespan=False)
        await server.start()
        plane.endpoints.append(("gateway", f"{url}  (API docs: {url}/docs)"))
        plane.shared[_STATE_KEY] = {
            "url": url,
            "api_key": key.token,
            "tenant": tenant,
            "scoring": bool(settings.routes),
        }
        plane.shared.setdefault("demo_tenant", tenant)
        plane.shared.setdefault("demo_api_key", key.token)
        try:
            yield
        finally:
            await server.shutdown()
            sock.close()
    finally:
        await gateway.close()


async def _demo(plane: DataPlane) -> list[str]:
    state = plane.shared[_STATE_KEY]
    url, api_key = state["url"], state["api_key"]
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        issued = await client.post("/v1/auth/token", headers={"X-API-Key": api_key})
        issued.raise_for_status()
        token = issued.json()["access_token"]
        minutes = issued.json()["expires_in"] // 60
        path = "/v1/profiles?country=IN&sort=followers&limit=3"
        top = await client.get(path, headers={"Authorization": f"Bearer {token}"})
        top.raise_for_status()
        names = ", ".join(f"{p['handle']} ({p['followers']:,})" for p in top.json()["items"])
        proxied = ""
        if state.get("scoring"):  # the proxy in action: scoring behind the gateway's auth, gate and limit
            follower = {
                "handle": "user83746251",
                "full_name": "",
                "follower_count": 3,
                "following_count": 7120,
                "post_count": 0,
                "has_profile_pic": False,
                "biography": "",
                "is_private": False,
            }
            scored = await client.post(
                "/v1/score", json={"profiles": [follower]}, headers={"Authorization": f"Bearer {token}"}
            )
            proxied = f"POST {url}/v1/score through the gateway → {scored.status_code}"
            if scored.status_code == 200:
                first = scored.json()["scores"][0]
                proxied += f": {first['handle']} p(fake)={first['probability']:.2f} {first['label']}"
    lines = [
        f"tenant {state['tenant']!r} (plan PAID), API key: {api_key}",
        f"token (valid {minutes} min): {token}",
        f"curl -s -H 'Authorization: Bearer {token}' '{url}{path}'",
        f"  → {top.status_code}: {names}",
        f"curl -s -H 'X-API-Key: {api_key}' '{url}/v1/leaderboards/category?bucket=tech'",
    ]
    return [*lines, proxied] if proxied else lines
