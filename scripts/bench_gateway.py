"""``make bench-gateway``: the gateway against nginx, side by side, in one run.

Targets (each served by ONE worker process; wrk runs with one thread):

- ``upstream``      nginx (1 worker) serving a small JSON file — the static upstream;
- ``nginx_proxy``   nginx (1 worker) reverse-proxying to that upstream (keep-alive pool);
- ``gateway_proxy`` ``python -m barista_gateway`` proxying to the same upstream: JWT auth (cached
                    claims), per-tenant rate limit (Redis GCRA, leased tokens), metrics and access log on;
- ``gateway_cache_hit`` the same gateway answering a cached route from L1 (auth + limit + metrics too).

Rounds alternate the targets so machine noise hits all alike; the figure per target is the median
over rounds, a ratio is the median of the per-round ratios. The gateway's CPU time per request
(utime + stime from /proc) is printed too: it depends less than requests per second on what else
runs on the machine.

Then the p99 added latency at half load: the upstream directly, the gateway's proxy path and nginx's
proxy, each driven at half the gateway's measured proxy rate by 16 connections with exponential
(Poisson) gaps (wrk's ``delay()``); p99 added = p99(gateway) - p99(upstream), and the same for nginx
as a reference. Prints a line per measurement and, last, one JSON line.

Needs: wrk and nginx (Debian packages; the Makefile target installs them), the machine's PostgreSQL
and Redis (BARISTA_BENCH_POSTGRES_URL / BARISTA_BENCH_REDIS_URL to override).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

POSTGRES = os.environ.get("BARISTA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BARISTA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PAYLOAD = b'{"id":"creator-42","platform":"instagram","handle":"natgeo","followers":283000000,"ok":true}\n'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def nginx_conf(work: Path, name: str, server: str, upstream_port: int | None = None) -> Path:
    upstream = (
        f"upstream up {{ server 127.0.0.1:{upstream_port}; keepalive 128; keepalive_requests 1000000; }}"
        if upstream_port
        else ""
    )
    conf = work / f"{name}.conf"
    conf.write_text(
        f"""
worker_processes 1;
daemon off;
pid {work}/{name}.pid;
error_log {work}/{name}.error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    {upstream}
    server {{ {server} }}
}}
"""
    )
    return conf


def wrk(url: str, *, seconds: float, connections: int, headers: dict[str, str], script: Path | None = None) -> dict:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    percentiles = {}
    for pct, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
        percentiles[int(pct)] = float(value) * scale
    return {
        "rps": rps,
        "p50_ms": percentiles.get(50),
        "p99_ms": percentiles.get(99),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (what it really cost, whatever else ran on the machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def paced_script(work: Path, mean_delay_ms: float) -> Path:
    """A wrk script pacing each connection with exponential (Poisson) gaps of ``mean_delay_ms`` on average.

    Fixed gaps would keep the connections in lockstep: every request of a round would arrive at once
    and the last one would wait for all the others — a burst, not half load.
    """
    script = work / f"paced_{mean_delay_ms:.3f}.lua"
    script.write_text(
        "math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))\n"
        f"function delay()\n  return -math.log(1 - math.random()) * {mean_delay_ms:.3f}\nend\n"
    )
    return script


async def provision(pg_url: str, prefix: str) -> tuple[str, str]:
    """A PAID tenant with a limit far above what one process can serve, its API key and a token."""
    from barista_core import registry
    from barista_core.auth.apikeys import generate_api_key
    from barista_core.backends import open_postgres
    from barista_core.plans import Plan, effective_features, effective_limits

    pool = await open_postgres(pg_url)
    try:
        await registry.ensure_registry(pool)
        await registry.upsert_tenant(
            pool,
            registry.TenantRecord(
                name="bench",
                display_name="Bench",
                plan=Plan.PAID,
                limits=effective_limits(Plan.PAID, {"apiRequestsPerMinute": 1_000_000_000}),
                features=effective_features(Plan.PAID),
            ),
        )
        key = generate_api_key()
        await registry.register_api_key(pool, "bench", key)
    finally:
        await pool.close()
    return "bench", key.token


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="wrk duration per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over all targets (median taken)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--no-access-log", action="store_true", help="switch the gateway's access log off")
    parser.add_argument("--profile", type=Path, help="py-spy the gateway during one extra run into this file")
    parser.add_argument("--profile-target", default="gateway_proxy", choices=["gateway_proxy", "gateway_cache_hit"])
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path("/usr/sbin/nginx").exists():
            print(f"{tool} is missing (apt-get install -y wrk nginx-light)", file=sys.stderr)
            return 2
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"

    work = Path(tempfile.mkdtemp(prefix="barista-bench-"))
    work.chmod(0o755)  # nginx workers run as another user when started by root
    (work / "data.json").write_bytes(PAYLOAD)
    (work / "data.json").chmod(0o644)
    up_port, proxy_port, gw_port = free_port(), free_port(), free_port()
    processes: list[subprocess.Popen[bytes]] = []
    database = "barista_bench_" + uuid.uuid4().hex[:8]
    prefix = f"barista-bench-{uuid.uuid4().hex[:8]}:"
    base = POSTGRES.rsplit("/", 1)[0]
    pg_url = f"{base}/{database}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        up_conf = nginx_conf(
            work,
            "upstream",
            f"listen 127.0.0.1:{up_port}; location / {{ root {work}; default_type application/json; }}",
        )
        proxy_conf = nginx_conf(
            work,
            "proxy",
            f"listen 127.0.0.1:{proxy_port}; location / {{ proxy_pass http://up; "
            'proxy_http_version 1.1; proxy_set_header Connection ""; }',
            up_port,
        )
        for conf in (up_conf, proxy_conf):
            processes.append(subprocess.Popen([nginx, "-c", str(conf), "-p", str(work)]))
        wait_port(up_port)
        wait_port(proxy_port)

        _, api_key = asyncio.run(provision(pg_url, prefix))
        routes = [
            {"prefix": "/static", "upstream": f"http://127.0.0.1:{up_port}", "strip_prefix": True},
            {
                "prefix": "/cached",
                "upstream": f"http://127.0.0.1:{up_port}",
                "strip_prefix": True,
                "cache": True,
                "cache_ttl_seconds": 3600,
            },
        ]
        env = {
            **os.environ,
            "BARISTA_POSTGRES_URL": pg_url,
            "BARISTA_REDIS_URL": REDIS,
            "BARISTA_CLICKHOUSE_URL": f"chdb://{work}/chdb",
            "BARISTA_REDIS_PREFIX": prefix,
            "BARISTA_HOST": "127.0.0.1",
            "BARISTA_PORT": str(gw_port),
            "BARISTA_ROUTES": json.dumps(routes),
            "BARISTA_ACCESS_LOG": "false" if args.no_access_log else "true",
            "BARISTA_LOG_FORMAT": "json",
            "BARISTA_LOG_LEVEL": "WARNING",
        }
        log = open(work / "gateway.log", "wb")  # noqa: SIM115 - lives as long as the process
        gateway = subprocess.Popen([sys.executable, "-m", "barista_gateway"], env=env, stdout=log, stderr=log)
        processes.append(gateway)
        wait_port(gw_port, timeout=120)
        gw = f"http://127.0.0.1:{gw_port}"
        token = httpx.post(f"{gw}/v1/auth/token", headers={"X-API-Key": api_key}).raise_for_status().json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        for path in ("/static/data.json", "/cached/data.json"):  # warm: connections, caches, JIT-less paths
            response = httpx.get(gw + path, headers=auth)
            if response.status_code != 200 or response.content != PAYLOAD:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
        if httpx.get(gw + "/cached/data.json", headers=auth).headers.get("x-cache") != "HIT-L1":
            raise RuntimeError("the cached route does not answer from the cache")

        targets = {
            "upstream": (f"http://127.0.0.1:{up_port}/data.json", {}),
            "nginx_proxy": (f"http://127.0.0.1:{proxy_port}/data.json", {}),
            "gateway_proxy": (f"{gw}/static/data.json", auth),
            "gateway_cache_hit": (f"{gw}/cached/data.json", auth),
        }
        for url, headers in targets.values():  # warm-up
            wrk(url, seconds=2, connections=args.connections, headers=headers)
        results: dict[str, list[dict]] = {name: [] for name in targets}
        for round_no in range(args.rounds):
            for name, (url, headers) in targets.items():
                before = cpu_seconds(gateway.pid)
                result = wrk(url, seconds=args.seconds, connections=args.connections, headers=headers)
                if name.startswith("gateway"):
                    requests = result["rps"] * max(1, round(args.seconds))
                    result["cpu_us"] = (cpu_seconds(gateway.pid) - before) / requests * 1e6
                if result["non2xx"] or result["socket_errors"]:
                    print(f"  ! {name}: {result['non2xx']} non-2xx, {result['socket_errors']}", file=sys.stderr)
                results[name].append(result)
                cpu = f"  gateway CPU {result['cpu_us']:.0f} µs/request" if "cpu_us" in result else ""
                print(
                    f"round {round_no + 1} {name:<18} {result['rps']:>10.0f} req/s  p50 {result['p50_ms']:.2f} ms"
                    f"  p99 {result['p99_ms']:.2f} ms{cpu}",
                    flush=True,
                )

        rps = {name: statistics.median(r["rps"] for r in runs) for name, runs in results.items()}
        # ratios per round (measurements seconds apart), then their median: drift on a shared machine cancels out
        proxy_ratio = statistics.median(
            g["rps"] / n["rps"] for g, n in zip(results["gateway_proxy"], results["nginx_proxy"], strict=True)
        )
        cache_ratio = statistics.median(
            g["rps"] / n["rps"] for g, n in zip(results["gateway_cache_hit"], results["nginx_proxy"], strict=True)
        )
        # p99 added latency at half load: pace both the gateway and the bare upstream at half the gateway's rate
        half = rps["gateway_proxy"] / 2
        paced_connections = 16
        script = paced_script(work, paced_connections * 1000 / half)
        added, nginx_added = [], []
        for _ in range(args.rounds):
            paced = {
                name: wrk(targets[name][0], seconds=args.seconds, connections=paced_connections,
                          headers=targets[name][1], script=script)
                for name in ("upstream", "gateway_proxy", "nginx_proxy")
            }  # fmt: skip
            added.append(paced["gateway_proxy"]["p99_ms"] - paced["upstream"]["p99_ms"])
            nginx_added.append(paced["nginx_proxy"]["p99_ms"] - paced["upstream"]["p99_ms"])
            print(
                f"half load ~{half:.0f} req/s: "
                + "; ".join(
                    f"{name} {r['rps']:.0f} req/s p50 {r['p50_ms']:.2f} p99 {r['p99_ms']:.2f} ms"
                    for name, r in paced.items()
                ),
                flush=True,
            )

        if args.profile:
            py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            fmt = {".json": "speedscope", ".txt": "raw"}.get(args.profile.suffix, "flamegraph")
            spy = subprocess.Popen(
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(gateway.pid),
                    "--duration",
                    str(int(args.seconds)),
                    "--rate",
                    "250",
                    "--format",
                    fmt,
                    "--output",
                    str(args.profile),
                    "--nonblocking",
                ]
            )
            time.sleep(0.5)
            wrk(targets[args.profile_target][0], seconds=args.seconds, connections=args.connections, headers=auth)
            spy.wait(timeout=120)
            print(f"profile of {args.profile_target}: {args.profile}")

        summary = {
            "nginx_proxy_rps": round(rps["nginx_proxy"]),
            "upstream_rps": round(rps["upstream"]),
            "gateway_proxy_rps": round(rps["gateway_proxy"]),
            "gateway_cache_hit_rps": round(rps["gateway_cache_hit"]),
            "ratio_proxy_to_nginx": round(proxy_ratio, 3),
            "ratio_cache_hit_to_nginx": round(cache_ratio, 3),
            "p99_added_latency_ms": round(statistics.median(added), 3),
            "nginx_p99_added_latency_ms": round(statistics.median(nginx_added), 3),
            "gateway_proxy_cpu_us": round(statistics.median(r["cpu_us"] for r in results["gateway_proxy"])),
            "gateway_cache_hit_cpu_us": round(statistics.median(r["cpu_us"] for r in results["gateway_cache_hit"])),
        }
        print(
            f"medians over {args.rounds} rounds of {args.seconds:g} s, {args.connections} connections, "
            f"access log {'off' if args.no_access_log else 'on'}; aims: cache hit >= 0.25x nginx, "
            "proxy >= 0.10x, p99 added <= 3 ms at half load"
        )
        print(json.dumps(summary))
        return 0
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM if process.args[0] != nginx else signal.SIGQUIT)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        _clean_redis(prefix)
        shutil.rmtree(work, ignore_errors=True)


def _clean_redis(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


if __name__ == "__main__":
    sys.exit(main())
