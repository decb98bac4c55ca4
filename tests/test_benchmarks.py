"""Every `make bench-*` command runs, at a tiny size, to its JSON line with the fields the README names.

Behaviour only: the figures of a run this small say nothing about speed; what is checked is that the
command still works end to end (a benchmark nobody runs breaks silently) and reports positive numbers.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def last_json_line(*args: str, timeout: float = 240) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ}
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(summary, dict)
    return summary


def assert_positive(summary: dict[str, float], keys: list[str]) -> None:
    missing = [key for key in keys if key not in summary]
    assert not missing, f"missing {missing} in {summary}"
    not_positive = {key: summary[key] for key in keys if not summary[key] > 0}
    assert not not_positive, not_positive


def test_bench_ingest_runs_every_stage() -> None:
    summary = last_json_line(
        "scripts/bench_ingest.py", "--events", "2000", "--sink-batch", "500", "--latency-seconds", "1",
        "--unary-seconds", "1", "--stages", "a,b,c,d,e",
    )  # fmt: skip
    assert_positive(summary, ["events_per_s", "raw_clickhouse_rows_per_s", "raw_amqp_events_per_s",
                              "raw_grpc_events_per_s", "ratio_to_slowest_raw_stage", "p99_to_queryable_ms",
                              "unary_single_event_rps"])  # fmt: skip


def test_bench_operator_runs() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    summary = last_json_line("scripts/bench_operator.py", "--tenants", "5", "--sinks", "5", "--probe-port", str(port))
    assert (summary["tenants"], summary["sinks"]) == (5, 5)
    assert_positive(summary, ["seconds_to_all_ready", "reconciles_per_s", "api_calls", "ratio_to_direct_calls",
                              "peak_rss_mb"])  # fmt: skip


@pytest.mark.skipif(
    shutil.which("wrk") is None or (shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists()),
    reason="bench-gateway needs wrk and nginx (Debian: apt-get install -y wrk nginx-light)",
)
def test_bench_gateway_runs() -> None:
    summary = last_json_line("scripts/bench_gateway.py", "--seconds", "1", "--rounds", "1")
    assert_positive(summary, ["nginx_proxy_rps", "gateway_proxy_rps", "gateway_cache_hit_rps",
                              "ratio_proxy_to_nginx", "ratio_cache_hit_to_nginx"])  # fmt: skip
    assert "p99_added_latency_ms" in summary


def test_bench_worker_runs() -> None:
    summary = last_json_line("-m", "barista_worker.bench", "--requests", "200", "--rounds", "1")
    assert summary and all(isinstance(value, int | float) for value in summary.values()), summary


def test_bench_ingest_reports_the_round_of_median_ratio() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_ingest import Round, median_round

    rounds = [Round(200.0, 120.0), Round(250.0, 100.0), Round(180.0, 90.0)]  # ratios 0.6, 0.4, 0.5
    assert median_round(rounds) == Round(180.0, 90.0)
    assert median_round([Round(3.0, 0), Round(1.0, 0), Round(2.0, 0)]).raw_rows_per_s == 2.0  # (a) alone
    assert median_round([Round(None, 3.0), Round(None, 1.0), Round(None, 2.0)]).events_per_s == 2.0  # (d) alone
