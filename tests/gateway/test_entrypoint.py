"""``python -m barista_gateway`` as it runs in its container: serves, believes X-Forwarded-For only from a
trusted proxy, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the gateway exited"
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the gateway did not come up")


def test_serves_trusts_only_its_proxy_and_stops_on_sigterm(
    pg_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    port = free_port()
    log = open(tmp_path / "gateway.log", "w+b")  # noqa: SIM115 - read after the process ends
    env = {
        **os.environ,
        "BARISTA_POSTGRES_URL": pg_url,
        "BARISTA_REDIS_URL": redis_url,
        "BARISTA_REDIS_PREFIX": redis_prefix,
        "BARISTA_CLICKHOUSE_URL": f"chdb://{tmp_path}/chdb",
        "BARISTA_HOST": "127.0.0.1",
        "BARISTA_PORT": str(port),
        "BARISTA_TRUSTED_PROXIES": "127.0.0.1",
        "BARISTA_LOG_FORMAT": "json",
    }
    process = subprocess.Popen([sys.executable, "-m", "barista_gateway"], env=env, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process)
        forwarded = httpx.get(url + "/v1/tenants/me", headers={"X-Forwarded-For": "203.0.113.7"})
        assert forwarded.status_code == 401 and forwarded.json()["error"]["code"] == "missing_credentials"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log.seek(0)
    lines = [json.loads(line) for line in log.read().decode().splitlines() if line.startswith("{")]
    log.close()
    access = [line for line in lines if line.get("path") == "/v1/tenants/me"]
    assert [line["client"] for line in access] == ["203.0.113.7"]  # the peer is the trusted proxy
    assert not [line for line in lines if line.get("level") in ("error", "critical")], lines
