#!/usr/bin/env python3
"""Operator benchmark: N Tenants + N Sinks against kmock's emulator; ends with one JSON line.

Three processes, so the operator's memory is its own:

* the emulator (``bench_operator.py emulator``): kmock's Kubernetes emulator with the harness's patches
  (barista_operator.testing.patch_kmock), playing the deployment controller too (a new or rescaled
  Deployment reports its pods available at once, as kube-controller-manager would after the pods start);
  it records every request the operator makes, and serves two more, empty emulators for the baseline;
* the operator (``python -m barista_operator``), exactly as in a cluster but standalone, logging WARNING;
* this driver: creates the resources (all Tenants, then all Sinks, ``--concurrency`` at a time), watches
  until every one is Ready for generation 1, reads the operator's peak RSS (VmHWM), stops the operator,
  then replays the operator's own creates and status patches with a plain aiohttp client at the same
  concurrency against a fresh emulator in the same process, in which the same Tenants and Sinks exist
  beforehand and the same eight watch streams are open as during the operator's run (kopf's six and the
  driver's two, read by a process of their own). The notes also give the replay without watch streams
  (a third emulator).

Backends: the tenant registry is a fresh database on the machine's PostgreSQL; Sink queues go to the
in-process broker (memory://); ClickHouse is disabled (BARISTA_OPERATOR_DISABLED_BACKENDS): chdb would
add ~240 MB to the operator's RSS, which clickhouse-server over HTTP in a cluster would not.

Fields: seconds_to_all_ready = first create to last Ready; reconciles_per_s = resources brought to Ready
per second; api_calls = requests the operator made in that time (kopf's and its own client's);
ratio_to_direct_calls = baseline seconds / seconds_to_all_ready; peak_rss_mb = the operator's VmHWM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
OPERATOR_AGENTS = ("kopf/", "barista-operator")
API = "barista.dev/v1alpha1"


# ---- emulator process ----------------------------------------------------------------------------------------


def emulator_main(port_file: Path) -> None:
    import kmock

    from barista_operator.testing import declare_resources, patch_kmock

    patch_kmock()

    class BenchEmulator(kmock.KubernetesEmulator):
        """Records the operator's requests; plays the deployment controller; answers /_bench/*."""

        def __attrs_post_init__(self) -> None:
            super().__attrs_post_init__()
            self.log: list[dict[str, Any]] = []

        async def _handle(self, request: Any) -> Any:
            from aiohttp import web

            path = request.url.path
            if path.startswith("/_bench/"):
                if path == "/_bench/requests":
                    since = float(request.params.get("since", "0"))
                    return web.json_response([r for r in self.log if r["t"] >= since])
                if path == "/_bench/watching":
                    return web.json_response(
                        sorted(
                            {
                                r.resource.plural
                                for r in list(self._requests)
                                if r.action == kmock.action.WATCH and r.resource is not None
                            }
                        )
                    )
                return web.json_response({"error": "unknown"}, status=404)
            agent = str(request.headers.get("User-Agent", ""))
            if agent.startswith(OPERATOR_AGENTS):
                self.log.append(
                    {
                        "t": time.time(),
                        "method": str(request.method.value),
                        "path": path,
                        "params": dict(request.params),
                        "agent": agent,
                        "content_type": request.headers.get("Content-Type", ""),
                        "body": request.data if request.method.value in ("POST", "PATCH", "PUT") else None,
                    }
                )
            response = await super()._handle(request)
            if (
                request.resource is not None
                and request.resource.plural == "deployments"
                and request.action in (kmock.action.CREATE, kmock.action.UPDATE)
                and not request.subresource
            ):
                await self._controller(request)
            return response

        async def _controller(self, request: Any) -> None:
            """Report a Deployment's pods available, as the deployment controller would once they start."""
            name = request.name or (request.data or {}).get("metadata", {}).get("name")
            namespace = request.namespace or (request.data or {}).get("metadata", {}).get("namespace")
            key = (request.resource, namespace, name)
            async with self._lock:
                obj = self._objects._objects.get(key)
                if obj is None or obj.deleted:
                    return
                replicas = obj.raw.get("spec", {}).get("replicas", 1)
                status = obj.raw.get("status") or {}
                if status.get("availableReplicas") == replicas and status.get("readyReplicas") == replicas:
                    return
                obj.patch(
                    {
                        "status": {
                            "replicas": replicas,
                            "readyReplicas": replicas,
                            "availableReplicas": replicas,
                            "updatedReplicas": replicas,
                        }
                    }
                )
                await self._buses[request.resource].put({"type": "MODIFIED", "object": obj.raw})

    async def serve() -> None:
        emulators = {"main": BenchEmulator(), "baseline": BenchEmulator(), "bare": BenchEmulator()}
        async with contextlib.AsyncExitStack() as stack:
            urls = {}
            for role, emulator in emulators.items():
                declare_resources(emulator)
                await stack.enter_async_context(emulator)
                urls[role] = str((await stack.enter_async_context(kmock.Server(emulator))).url)
            await asyncio.to_thread(write_atomically, port_file, json.dumps(urls))
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            await stop.wait()

    asyncio.run(serve())


# ---- driver ---------------------------------------------------------------------------------------------------


def progress(args: argparse.Namespace, message: str) -> None:
    if args.notes:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def tenant(i: int) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Tenant",
        "metadata": {"name": f"t{i:05d}", "generation": 1, "uid": str(uuid.uuid4())},
        "spec": {"displayName": f"Tenant {i}", "plan": ("FREE", "SAAS", "PAID")[i % 3]},
    }


def sink(i: int) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Sink",
        "metadata": {"name": "events", "namespace": f"tenant-t{i:05d}", "generation": 1, "uid": str(uuid.uuid4())},
        "spec": {"eventTypes": ["order.*", "app.open"], "clickhouse": {"table": "events"}},
    }


def collection(body: dict[str, Any]) -> str:
    plural = body["kind"].lower() + "s"
    namespace = body["metadata"].get("namespace")
    return f"/apis/{API}" + (f"/namespaces/{namespace}" if namespace else "") + f"/{plural}"


async def pooled(items: list[Any], concurrency: int, fn: Any) -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            await fn(queue.get_nowait())

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def create_all(session: aiohttp.ClientSession, base: str, bodies: list[dict[str, Any]], concurrency: int) -> None:
    async def one(body: dict[str, Any]) -> None:
        async with session.post(base + collection(body), json=body) as response:
            response.raise_for_status()

    await pooled(bodies, concurrency, one)


async def wait_all_ready(
    session: aiohttp.ClientSession, base: str, expected: dict[str, set[str]], timeout: float, on_progress: Any = None
) -> float:
    """Watch tenants and sinks until every expected one is Ready for generation 1; the time it happened."""
    pending = {plural: set(names) for plural, names in expected.items()}
    done = asyncio.Event()
    finished_at = 0.0

    async def watch(plural: str) -> None:
        nonlocal finished_at
        async with session.get(
            f"{base}/apis/{API}/{plural}",
            params={"watch": "true"},
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        ) as response:
            async for line in response.content:
                if not line.strip():
                    continue
                obj = json.loads(line)["object"]
                meta, status = obj["metadata"], obj.get("status") or {}
                ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))
                if ready and status.get("observedGeneration") == 1:
                    pending[plural].discard(f"{meta.get('namespace', '')}/{meta['name']}")
                    if not any(pending.values()):
                        finished_at = time.time()
                        done.set()
                        return

    tasks = [asyncio.create_task(watch(plural)) for plural in pending]

    async def report() -> None:
        while True:
            await asyncio.sleep(10)
            if on_progress is not None:
                on_progress(f"waiting for {', '.join(f'{len(v)} {k}' for k, v in pending.items())}")

    tasks.append(asyncio.create_task(report()))
    try:
        await asyncio.wait_for(done.wait(), timeout)
    except TimeoutError:
        left = {k: len(v) for k, v in pending.items()}
        raise SystemExit(f"not all ready within {timeout}s: still waiting for {left}") from None
    finally:
        for task in tasks:
            task.cancel()
    return finished_at


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


WATCHES = (
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    "/apis/apps/v1/deployments",
    *(f"/apis/{API}/{plural}" for plural in ("tenants", "sinks", "scrapeflows", "pipelines")),
    f"/apis/{API}/tenants",
    f"/apis/{API}/sinks",
)


def drain_main(base: str) -> None:
    """Open the watch streams the operator's run had and read them until killed (a process of its own,
    as kopf was, so the replaying client does not pay for them)."""

    async def run() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as session:

            async def drain(path: str) -> None:
                async with session.get(base + path, params={"watch": "true"}) as response:
                    async for _ in response.content.iter_any():
                        pass

            await asyncio.gather(*(drain(path) for path in WATCHES))

    asyncio.run(run())


@contextlib.asynccontextmanager
async def watchers(base: str) -> Any:
    process = await asyncio.create_subprocess_exec(sys.executable, __file__, "drain", "--url", base)
    await asyncio.sleep(1.0)
    try:
        yield
    finally:
        await stop_process(process, signal.SIGTERM)


async def stop_process(process: asyncio.subprocess.Process, sig: int, timeout: float = 10) -> None:
    """Send ``sig`` and wait for the process to exit; kill it after ``timeout`` seconds."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` so a reader sees either nothing or all of it."""
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(path)


def read_port_file(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


async def replay(base: str, calls: list[dict[str, Any]], concurrency: int) -> float:
    """Make ``calls`` with a plain client, ``concurrency`` at a time; the seconds it took."""
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency), headers={"User-Agent": "barista-bench-baseline"}
    ) as session:

        async def one(call: dict[str, Any]) -> None:
            async with session.request(
                call["method"],
                base + call["path"],
                data=json.dumps(call["body"]),
                headers={"Content-Type": call["content_type"] or "application/json"},
            ) as r:
                await r.read()
                if r.status >= 400 and r.status != 409:
                    raise RuntimeError(f"baseline {call['method']} {call['path']}: {r.status}")

        started = time.monotonic()
        await pooled(calls, concurrency, one)
        return time.monotonic() - started


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg

    from barista_operator.testing import write_kubeconfig

    work = Path(tempfile.mkdtemp(prefix="barista-bench-"))
    port_file = work / "emulator.json"
    emulator = await asyncio.create_subprocess_exec(sys.executable, __file__, "emulator", "--port-file", str(port_file))
    database = f"barista_bench_{uuid.uuid4().hex[:8]}"
    operator: asyncio.subprocess.Process | None = None
    try:
        for _ in range(400):
            if text := await asyncio.to_thread(read_port_file, port_file):
                break
            if emulator.returncode is not None:
                raise SystemExit("the emulator exited during start-up")
            await asyncio.sleep(0.05)
        else:
            raise SystemExit("the emulator did not start within 20 s")
        urls = json.loads(text)
        main, baseline_url, bare_url = (urls[role].rstrip("/") for role in ("main", "baseline", "bare"))
        async with await psycopg.AsyncConnection.connect(args.postgres, autocommit=True) as conn:
            await conn.execute(f'CREATE DATABASE "{database}"')
        kubeconfig = await asyncio.to_thread(write_kubeconfig, work / "kubeconfig", main)
        env = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig),
            "BARISTA_OPERATOR_STANDALONE": "true",
            "BARISTA_OPERATOR_LOG_LEVEL": args.log_level,
            "BARISTA_OPERATOR_LOG_FORMAT": "json",
            "BARISTA_OPERATOR_PROBE_PORT": str(args.probe_port),
            "BARISTA_OPERATOR_POSTGRES_URL": args.postgres.rsplit("/", 1)[0] + f"/{database}",
            "BARISTA_OPERATOR_BROKER_URL": "memory://bench",
            "BARISTA_OPERATOR_REDIS_URL": "redis://127.0.0.1:6379/0",
            "BARISTA_OPERATOR_DISABLED_BACKENDS": '["clickhouse"]',
            "BARISTA_OPERATOR_API_CONCURRENCY": str(args.concurrency),
            **dict(item.split("=", 1) for item in args.operator_env),
        }
        progress(args, f"emulator at {main}; starting the operator")
        operator = await asyncio.create_subprocess_exec(sys.executable, "-m", "barista_operator", env=env, cwd=ROOT)
        async with aiohttp.ClientSession(
            headers={"User-Agent": "barista-bench"}, connector=aiohttp.TCPConnector(limit=args.concurrency + 4)
        ) as session:
            watched = {"tenants", "sinks", "scrapeflows", "pipelines", "deployments"}
            for _ in range(600):
                async with session.get(main + "/_bench/watching") as r:
                    if watched <= set(await r.json()):
                        break
                if operator.returncode is not None:
                    raise SystemExit("the operator exited during start-up")
                await asyncio.sleep(0.1)
            progress(args, "the operator watches; creating")
            tenants = [tenant(i) for i in range(args.tenants)]
            sinks = [sink(i) for i in range(args.sinks)]
            expected = {
                "tenants": {f"/{t['metadata']['name']}" for t in tenants},
                "sinks": {f"{s['metadata']['namespace']}/events" for s in sinks},
            }
            started = time.time()
            cpu_before = cpu_seconds(operator.pid), cpu_seconds(emulator.pid)
            waiter = asyncio.create_task(
                wait_all_ready(session, main, expected, args.timeout, lambda m: progress(args, m))
            )
            await asyncio.sleep(0.2)  # the readiness watches are open before anything is created
            await create_all(session, main, tenants, args.concurrency)
            await create_all(session, main, sinks, args.concurrency)
            progress(args, "all created; waiting for Ready")
            finished = await waiter
            progress(args, f"all Ready after {finished - started:.1f}s")
            seconds = finished - started
            rss = peak_rss_mb(operator.pid)
            cpu = cpu_seconds(operator.pid) - cpu_before[0], cpu_seconds(emulator.pid) - cpu_before[1]
            async with session.get(main + "/_bench/requests", params={"since": str(started)}) as r:
                calls = [c for c in await r.json() if c["t"] <= finished]
        await stop_process(operator, signal.SIGTERM, 30)

        # the baseline: the operator's own creates and status patches, replayed with a plain client
        direct = [
            c for c in calls if c["method"] == "POST" or (c["method"] == "PATCH" and c["path"].endswith("/status"))
        ]
        progress(args, f"baseline: replaying {len(direct)} of {len(calls)} calls")
        async with aiohttp.ClientSession(headers={"User-Agent": "barista-bench"}) as session:
            await create_all(session, bare_url, tenants + sinks, args.concurrency)
            bare_seconds = await replay(bare_url, direct, args.concurrency)  # no watch streams: for the notes
            # the measured baseline: with the watch streams the operator's run had open
            await create_all(session, baseline_url, tenants + sinks, args.concurrency)
            async with watchers(baseline_url):
                emulator_cpu = cpu_seconds(emulator.pid)
                direct_seconds = await replay(baseline_url, direct, args.concurrency)
                emulator_cpu = cpu_seconds(emulator.pid) - emulator_cpu
        return {
            "tenants": args.tenants,
            "sinks": args.sinks,
            "seconds_to_all_ready": round(seconds, 2),
            "reconciles_per_s": round((args.tenants + args.sinks) / seconds, 1),
            "api_calls": len(calls),
            "ratio_to_direct_calls": round(direct_seconds / seconds, 3),
            "peak_rss_mb": round(rss, 1),
            "_notes": {
                "direct_calls": len(direct),
                "direct_seconds": round(direct_seconds, 2),
                "direct_seconds_without_watchers": round(bare_seconds, 2),
                "cpu_seconds": {
                    "operator": round(cpu[0], 1),
                    "emulator": round(cpu[1], 1),
                    "emulator_in_baseline": round(emulator_cpu, 1),
                },
                "concurrency": args.concurrency,
                "backends": "registry: PostgreSQL (machine); queues: memory://; ClickHouse: disabled",
                "calls_by_kind": _by_kind(calls),
            },
        }
    finally:
        if operator is not None:
            await stop_process(operator, signal.SIGKILL)
        await stop_process(emulator, signal.SIGTERM, 30)
        with contextlib.suppress(Exception):
            async with await psycopg.AsyncConnection.connect(args.postgres, autocommit=True) as conn:
                await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _by_kind(calls: list[dict[str, Any]]) -> dict[str, int]:
    from barista_operator.rbac import access_of

    counts: dict[str, int] = {}
    for call in calls:
        access = access_of(call["method"], call["path"], call["params"])
        key = str(access) if access else f"{call['method']} {call['path']}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    emu = sub.add_parser("emulator")
    emu.add_argument("--port-file", type=Path, required=True)
    drain = sub.add_parser("drain")
    drain.add_argument("--url", required=True)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--sinks", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--probe-port", type=int, default=18080)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BARISTA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument(
        "--operator-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Extra environment for the operator (e.g. BARISTA_OPERATOR_WORKER_LIMIT=100).",
    )
    parser.add_argument("--notes", action="store_true", help="Print details (calls by kind, baseline) first.")
    args = parser.parse_args()
    if args.command == "emulator":
        emulator_main(args.port_file)
        return
    if args.command == "drain":
        drain_main(args.url)
        return
    if args.sinks > args.tenants:
        parser.error("at most one Sink per Tenant")
    result = asyncio.run(bench(args))
    notes = result.pop("_notes")
    if args.notes:
        print(json.dumps(notes, indent=2), file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
