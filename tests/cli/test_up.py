"""`barista up`: embedded backends start, the demo shows data flowing, and everything stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.xdist_group("barista-up")


def processes_using(path: Path) -> list[str]:
    """Processes whose command line mentions ``path`` (pg_ctl daemonises postgres, so not a child)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(path) in cmdline and process.pid != os.getpid():
            found.append(process.info["name"])
    return found


def test_up_once_runs_the_demo_and_stops(shared_tmp):
    result = subprocess.run(
        [sys.executable, "-m", "barista.cli", "up", "--once", "-d", str(shared_tmp / "data")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for backend in ("ClickHouse", "PostgreSQL", "Redis", "Broker"):
        assert f"✓ {backend}" in out
    assert "self-check: broker → ClickHouse ok (1 row so far)" in out
    assert out.strip().endswith("stopped cleanly")
    assert "Traceback" not in result.stderr
    # the demo key is kept where `barista token` looks for it
    shown = re.search(r"API key: (bk_\S+)", out)
    assert shown is not None, out
    assert (shared_tmp / "data" / "gateway" / "demo-api-key").read_text() == shown.group(1)


def test_sigterm_stops_everything_cleanly(shared_tmp):
    data = shared_tmp / "data"
    process = subprocess.Popen(
        [sys.executable, "-m", "barista.cli", "up", "-d", str(data)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C to stop" in line:
                break
        else:
            pytest.fail("barista up did not become ready:\n" + "".join(lines))
        running = processes_using(data)
        assert any("redis" in name for name in running), running
        assert any("postgres" in name for name in running), running
        second = subprocess.run(
            [sys.executable, "-m", "barista.cli", "up", "--once", "-d", str(data)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert f"is in use by another `barista up` (pid {process.pid})" in second.stderr
        assert "Traceback" not in second.stderr and "DB::Exception" not in second.stderr
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "stopped cleanly" in out
    deadline = time.monotonic() + 10
    while processes_using(data) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_using(data) == [], "an embedded backend outlived barista up"
    assert "Traceback" not in err


def test_data_survives_a_restart(shared_tmp):
    data = str(shared_tmp / "data")
    for _ in (1, 2):
        result = subprocess.run(
            [sys.executable, "-m", "barista.cli", "up", "--once", "-d", data],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ},
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert "(2 rows so far)" in result.stdout
    assert "Redis ok (start 2 on this data directory)" in result.stdout
