"""Liveness/readiness checks and a tiny HTTP server for ``/healthz``, ``/readyz`` and ``/metrics``.

HTTP components (gateway, scoring) answer the same paths from their own app by calling
:meth:`Health.report`; the others (ingest, sinker, worker, operator) run :func:`serve_probes`.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson

from barista_core.logging import get_logger
from barista_core.metrics import render_metrics

Check = Callable[[], Awaitable[object]]
log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class HealthReport:
    ok: bool
    checks: dict[str, str]

    def body(self) -> bytes:
        return orjson.dumps({"status": "ok" if self.ok else "unavailable", "checks": self.checks})


@dataclass
class Health:
    """Named readiness checks (each an async callable that raises when unhealthy)."""

    check_timeout: float = 2.0
    _checks: dict[str, Check] = field(default_factory=dict)
    _started: float = field(default_factory=time.monotonic)
    ready_gate: bool = True  # set False while draining so load balancers stop sending traffic

    def add_check(self, name: str, check: Check) -> None:
        self._checks[name] = check

    def liveness(self) -> HealthReport:
        return HealthReport(True, {"uptime_s": f"{time.monotonic() - self._started:.0f}"})

    async def readiness(self) -> HealthReport:
        results: dict[str, str] = {}
        if not self.ready_gate:
            results["draining"] = "shutting down"

        async def run(name: str, check: Check) -> None:
            try:
                await asyncio.wait_for(check(), self.check_timeout)
                results[name] = "ok"
            except Exception as exc:  # a failing check is reported, never raised
                results[name] = f"{type(exc).__name__}: {str(exc)[:200]}"

        await asyncio.gather(*(run(n, c) for n, c in self._checks.items()))
        return HealthReport(all(v == "ok" for v in results.values()), results)


async def serve_probes(health: Health, host: str = "0.0.0.0", port: int = 8080) -> asyncio.Server:  # noqa: S104
    """Start an HTTP/1.1 server answering GET /healthz, /readyz and /metrics. Returns the started server."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) >= 2 else ""
            status, content_type, body = await _answer(health, parts[0] if parts else "", path)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, port)
    log.info("probes listening", host=host, port=port)
    return server


async def _answer(health: Health, method: str, path: str) -> tuple[str, str, bytes]:
    if method != "GET":
        return "405 Method Not Allowed", "text/plain", b"method not allowed\n"
    if path == "/healthz":
        return "200 OK", "application/json", health.liveness().body()
    if path == "/readyz":
        report = await health.readiness()
        return ("200 OK" if report.ok else "503 Service Unavailable"), "application/json", report.body()
    if path == "/metrics":
        body, content_type = render_metrics()
        return "200 OK", content_type, body
    return "404 Not Found", "text/plain", b"not found\n"


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (call inside the running loop): a service's cue to drain and exit."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
