"""Benchmark of the ingest path against its raw parts, side by side in one run (``make bench-ingest``).

On the same generated events (client batches of 500):

(a) raw columnar insert into chdb through clickhouse-connect (rows per insert = the sinker's batch size, with
    the sinker's insert settings);
(b) raw publisher-confirmed publish with aio-pika of the same payloads (one persistent message per request,
    zstd-compressed, into a durable queue — what Barista publishes);
(c) gRPC round trips of the same batches to a server whose handler does nothing;
(d) Barista end to end: gRPC → validation → RabbitMQ (confirmed) → sinker → ClickHouse, until every
    row is queryable; then the latency from sending to queryable at half that load; then single-event
    unary calls.

(a) and (d) run in alternation, ``--rounds`` times, and the figures are those of the round whose ratio is the
median: this machine's speed drifts by as much as half within minutes, so only side-by-side passes compare.

Processes: this driver owns chdb (so it runs the sinker and can query), the ingest server and the
do-nothing server are subprocesses, and the load generator is a subprocess that sends pre-serialised
requests as raw HTTP/2 frames (lean_grpc_load.py; ``--load-generator grpc`` uses grpc.aio's client).
Backends are the machine's RabbitMQ (own vhost), PostgreSQL (own database) and Redis (own prefix);
everything is removed afterwards. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, NamedTuple

import uvloop

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("BARISTA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BARISTA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_BASE = os.environ.get("BARISTA_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
BATCH = 500
PUBLISH_PATH = "/barista.events.v1.EventService/Publish"

# A realistic mix: a few high-volume types and a long tail (Zipf-like weights over part of the catalogue).
MIX = [
    ("page.viewed", 30), ("screen.viewed", 22), ("app.opened", 10), ("product.viewed", 9), ("search.performed", 6),
    ("cart.item_added", 4), ("video.progressed", 4), ("post.liked", 3), ("push.opened", 2), ("checkout.started", 2),
    ("order.completed", 2), ("creator.followed", 2), ("email.opened", 1), ("profile.snapshot", 1),
    ("subscription.renewed", 1), ("custom.level_completed", 1),
]  # fmt: skip


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def stat_cpu_seconds(stat: Path) -> float:
    """User + system CPU time in a /proc ``stat`` file (of a process, all its threads, or of one thread)."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads)."""
    return stat_cpu_seconds(Path(f"/proc/{pid}/stat"))


def rabbitmq_pid() -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"beam.smp" in (entry / "cmdline").read_bytes() and b"rabbit" in (entry / "cmdline").read_bytes():
                    return int(entry.name)
            except OSError:
                continue
    return None


def thread_cpu_seconds(pid: int) -> Counter[str]:
    """CPU seconds of process ``pid`` by thread name (chdb names its threads: ``MergeMutate``, ``ThreadPool``…)."""
    by_name: Counter[str] = Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
        except OSError:  # the thread ended
            continue
        by_name[name] += stat_cpu_seconds(task / "stat")
    return by_name


class CpuMeter:
    """CPU time spent by the server, this process (sinker + chdb) and RabbitMQ between start and stop."""

    def __init__(self, server_pid: int) -> None:
        self.pids = {"server": server_pid, "sinker": os.getpid(), "rabbitmq": rabbitmq_pid()}
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items() if pid}
        self.sinker_threads = thread_cpu_seconds(os.getpid())

    def report(self, events: int) -> str:
        used = {name: cpu_seconds(pid) - self.before[name] for name, pid in self.pids.items() if pid}
        threads = thread_cpu_seconds(os.getpid())
        threads.subtract(self.sinker_threads)  # threads that ended meanwhile are missing: a rough split
        merges = f" (chdb's background merges {threads['MergeMutate'] / events * 1e6:.1f} of it)"
        parts = [f"{name} {seconds / events * 1e6:.1f}{merges if name == 'sinker' else ''}"
                 for name, seconds in used.items()]  # fmt: skip
        total = sum(used.values()) / events * 1e6
        rate = 2e6 / total
        return f"CPU per event (µs): {', '.join(parts)}; total {total:.1f} → {rate:,.0f} events/s on 2 free cores"


def own_cpu_seconds() -> float:
    """User + system CPU of this process, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- generated events ----------------------------------------------------------------------------------


def generate(count: int, *, seed: int, json_properties: bool) -> list[bytes]:
    """``count`` events as serialised EventBatch requests of BATCH events each."""
    from barista_core.proto import events_pb2
    from barista_ingest.demo import sample_properties

    rng = random.Random(seed)
    types = [t for t, _ in MIX]
    weights = [w for _, w in MIX]
    now = int(time.time() * 1000)
    requests = []
    for start in range(0, count, BATCH):
        batch = events_pb2.EventBatch(batch_id=f"bench-{start // BATCH}")
        for i in range(start, min(count, start + BATCH)):
            event_type = rng.choices(types, weights)[0]
            user = rng.randint(1, 5000)
            event = batch.events.add(
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                type=event_type,
                user_id=f"user-{user}",
                session_id=f"s-{user}-{i // 2000}",
                device_id=f"bench-{start // BATCH}",  # which request: the latency measurement reads it back
            )
            event.occurred_at.FromMilliseconds(now - rng.randint(0, 60_000))
            properties = sample_properties(event_type, rng)
            properties["bench_seq"] = start // BATCH
            if event_type == "page.viewed":
                properties["title"] = rng.choice(("Home", "Search results", "Checkout", "Creator profile"))
            if json_properties:
                import orjson

                event.properties_json = orjson.dumps(properties)
            else:
                event.properties.update(properties)
            event.context.platform = rng.choice(("ios", "android", "web"))
            event.context.app_version = "3.2.1"
        requests.append(batch.SerializeToString())
    return requests


def canonical_payloads(requests: list[bytes], tenant: str) -> list[list[tuple[str, bytes, int, list[str]]]]:
    """Per request: the AMQP messages Barista publishes for it alone — (routing key, JSON body, events, BCC keys).

    (Under concurrent load Barista merges requests into fewer, larger messages; the raw baseline gets
    one message per request.)
    """
    from barista_core.events import EventValidator, format_ms
    from barista_core.events.codec import join_events
    from barista_core.events.validation import Rejection
    from barista_core.proto import events_pb2
    from barista_ingest.convert import events_from_proto

    validator = EventValidator()
    out = []
    for raw in requests:
        now = int(time.time() * 1000)
        groups: dict[str, list[bytes]] = defaultdict(list)
        seen: set[str] = set()
        for event in events_from_proto(events_pb2.EventBatch.FromString(raw).events):
            encoded = validator.check(event, now_ms=now, received_at=format_ms(now), seen=seen)
            assert not isinstance(encoded, Rejection), encoded
            groups[event.type].append(encoded)
        keys = [f"{tenant}.{t}" for t in groups]
        body = join_events([e for events in groups.values() for e in events])
        out.append([(keys[0], body, sum(len(v) for v in groups.values()), keys[1:])])
    return out


# ---- (a) raw chdb ------------------------------------------------------------------------------------------


class RawInsert:
    """The raw chdb stage: the same events as columns, built once outside the clock, inserted ``size`` rows at a
    time with the sinker's insert settings (a baseline as fast as what Barista does) into a new events table."""

    def __init__(self, client: Any, payloads: list[list[tuple[str, bytes, int, list[str]]]], size: int) -> None:
        import orjson

        from barista_ingest.sink.clickhouse import event_columns

        self.client, self.size = client, size
        events = [e for request in payloads for _, body, _, _ in request for e in orjson.loads(body)]
        self.rows = len(events)
        self.chunks = [event_columns("bench", events[i : i + size]) for i in range(0, len(events), size)]

    def run(self) -> float:
        """One pass: rows/s."""
        from barista_core.events.table import EVENT_COLUMN_NAMES, EVENT_COLUMN_TYPES, events_table_migrations
        from barista_core.migrations import migrate_clickhouse
        from barista_ingest.sink.clickhouse import INSERT_SETTINGS

        client = self.client
        database = f"bench_raw_{uuid.uuid4().hex[:8]}"
        migrate_clickhouse(client, database, "bench.raw", events_table_migrations("events", 30))
        started = time.perf_counter()
        for columns in self.chunks:
            client.insert(f"`{database}`.events", columns, column_names=EVENT_COLUMN_NAMES,
                          column_type_names=EVENT_COLUMN_TYPES, column_oriented=True,
                          settings=INSERT_SETTINGS)  # fmt: skip
        elapsed = time.perf_counter() - started
        count = client.query(f"SELECT count() FROM `{database}`.events").result_rows[0][0]
        assert count == self.rows, (count, self.rows)
        client.command(f"DROP DATABASE `{database}` SYNC")
        rate = self.rows / elapsed
        log(f"(a) raw chdb columnar insert, {self.size} rows/insert: {rate:,.0f} rows/s")
        return rate


class Round(NamedTuple):
    raw_rows_per_s: float | None  # (a), just before
    events_per_s: float  # (d)

    @property
    def ratio(self) -> float:
        return self.events_per_s / self.raw_rows_per_s if self.raw_rows_per_s else 0.0


def median_round(rounds: list[Round]) -> Round:
    """The round of median ratio (without (a): of median end-to-end rate; without (d): of median raw rate); the
    upper middle of an even count."""
    ordered = sorted(rounds, key=lambda r: (r.ratio, r.events_per_s, r.raw_rows_per_s or 0.0))
    return ordered[len(ordered) // 2]


# ---- (b) raw AMQP ------------------------------------------------------------------------------------------


async def bench_raw_amqp(amqp_url: str, payloads: list[list[tuple[str, bytes, int, list[str]]]]) -> float:
    import aio_pika

    from barista_core.events.codec import compress_body

    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel(publisher_confirms=True)
    name = f"bench-raw-{uuid.uuid4().hex[:8]}"
    exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(name, durable=True)
    await queue.bind(exchange, "#")
    total = sum(n for request in payloads for _, _, n, _ in request)
    window = asyncio.Semaphore(8)  # requests in flight, as the gRPC clients below
    # compressed outside the clock, as Barista's publisher sends them
    compressed = [[(key, compress_body(body), n, bcc) for key, body, n, bcc in request] for request in payloads]

    async def publish(request: list[tuple[str, bytes, int, list[str]]]) -> None:
        async with window:
            await asyncio.gather(*(
                exchange.publish(aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                                  content_type="application/json", content_encoding="zstd",
                                                  headers={"BCC": bcc}),
                                 routing_key=key)
                for key, body, _, bcc in request
            ))  # fmt: skip

    started = time.perf_counter()
    await asyncio.gather(*(publish(request) for request in compressed))
    elapsed = time.perf_counter() - started
    await queue.delete(if_unused=False, if_empty=False)
    await exchange.delete()
    await connection.close()
    messages = sum(len(request) for request in payloads)
    log(f"(b) raw aio-pika confirmed publish: {total / elapsed:,.0f} events/s ({messages / elapsed:,.0f} messages/s)")
    return total / elapsed


# ---- the load generator (a subprocess) -------------------------------------------------------------------


def write_requests(path: Path, requests: list[bytes]) -> None:
    with path.open("wb") as f:
        for raw in requests:
            f.write(struct.pack(">I", len(raw)))
            f.write(raw)


def read_requests(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, offset = [], 0
    while offset < len(data):
        (size,) = struct.unpack_from(">I", data, offset)
        out.append(data[offset + 4 : offset + 4 + size])
        offset += 4 + size
    return out


async def client_main(args: argparse.Namespace) -> None:
    import grpc

    requests = read_requests(Path(args.requests))
    metadata = (("x-api-key", args.api_key),) if args.api_key else ()
    if args.lean:
        await lean_client(args, requests, metadata)
        return
    channel = grpc.aio.insecure_channel(args.target, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)])
    call = channel.unary_unary(PUBLISH_PATH, request_serializer=None,
                               response_deserializer=None)  # fmt: skip
    sent_at: dict[int, float] = {}
    tally = ClientTally(args.count_accepted)
    errors = events = 0

    async def one(index: int) -> None:
        nonlocal errors, events
        sent_at[index] = time.time()
        try:
            answer = await call(requests[index], metadata=metadata, timeout=60)
        except grpc.aio.AioRpcError as exc:
            errors += 1
            if errors < 5:
                log(f"client: {exc.code()} {exc.details()}")
            return
        events += 1
        tally(index, answer)

    started, cpu_before = time.time(), own_cpu_seconds()
    if args.mode == "closed":  # as fast as the window allows
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(len(requests)):
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                await one(queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elif args.mode == "rate":  # open loop: request i leaves at started + i * interval
        interval = 1.0 / args.rate
        tasks = []
        for i in range(len(requests)):
            delay = started + i * interval - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    else:  # "duration": cycle through requests for args.duration seconds
        deadline = started + args.duration
        counter = iter(range(10**9))

        async def loop_worker() -> None:
            while time.time() < deadline:
                await one(next(counter) % len(requests))

        await asyncio.gather(*(loop_worker() for _ in range(args.concurrency)))
    finished, cpu = time.time(), own_cpu_seconds() - cpu_before
    await channel.close()
    tally.report(args, started, finished, events, errors, cpu, sent_at)


async def lean_client(args: argparse.Namespace, requests: list[bytes], metadata: tuple[tuple[str, str], ...]) -> None:
    """client_main with raw HTTP/2 frames (lean_grpc_load.py) instead of grpc.aio's client."""
    from lean_grpc_load import run_load

    tally = ClientTally(args.count_accepted)
    host, port = args.target.rsplit(":", 1)
    started, cpu_before = time.time(), own_cpu_seconds()
    load = await run_load(host, int(port), PUBLISH_PATH, requests, mode=args.mode, concurrency=args.concurrency,
                          rate=args.rate, duration=args.duration, metadata=metadata, on_response=tally)  # fmt: skip
    tally.report(args, started, time.time(), load.calls, load.failures, own_cpu_seconds() - cpu_before, load.sent_at)


class ClientTally:
    """What both load generators count of the answers, and the JSON line they end with."""

    def __init__(self, count_accepted: bool) -> None:
        from barista_core.proto import events_pb2

        self.count_accepted, self.accepted = count_accepted, 0
        self.parse = events_pb2.PublishResponse.FromString

    def __call__(self, index: int, answer: bytes) -> None:
        if self.count_accepted:
            self.accepted += self.parse(answer).accepted

    def report(self, args: argparse.Namespace, started: float, finished: float, calls: int, errors: int,
               cpu_seconds: float, sent_at: dict[int, float]) -> None:  # fmt: skip
        print(json.dumps({"started": started, "finished": finished, "calls": calls, "errors": errors,
                          "accepted": self.accepted, "cpu_seconds": cpu_seconds,
                          "sent_at": sent_at if args.mode != "duration" else {}}))  # fmt: skip


def run_client(requests_file: Path, target: str, api_key: str, mode: str, *, concurrency: int = 8,
               rate: float = 0.0, duration: float = 0.0, count_accepted: bool = False, lean: bool = False
               ) -> dict:  # fmt: skip
    command = [sys.executable, __file__, "_client", "--requests", str(requests_file), "--target", target,
               "--api-key", api_key, "--mode", mode, "--concurrency", str(concurrency), "--rate", str(rate),
               "--duration", str(duration)] + (["--count-accepted"] if count_accepted else []) + (
               ["--lean"] if lean else [])  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"load generator failed: {result.stderr[-3000:]}")
    if result.stderr.strip():
        log(result.stderr.strip()[-1000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


async def run_client_async(*args: Any, **kwargs: Any) -> dict:
    return await asyncio.to_thread(run_client, *args, **kwargs)


# ---- (c) a server whose handler does nothing ------------------------------------------------------------


def nop_server_main(port: int) -> None:
    import grpc

    from barista_core.proto import events_pb2, events_pb2_grpc

    class Nop(events_pb2_grpc.EventServiceServicer):
        async def Publish(self, request: Any, context: Any) -> Any:
            return events_pb2.PublishResponse()

    async def main() -> None:
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
        events_pb2_grpc.add_EventServiceServicer_to_server(Nop(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        print("ready", flush=True)
        await server.wait_for_termination()

    uvloop.run(main())  # the loop barista-ingest serves on


def start_process(command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.stderr.read().decode()[-3000:]}")  # type: ignore[union-attr]
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port} after {timeout} s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- (d) Barista end to end ---------------------------------------------------------------------------


DEVICE = re.compile(rb'"device_id":"(bench-[0-9]+)"')


class Arrivals:
    """What the sinker wrote and when (its insert has returned: the rows are queryable).

    The hook runs in the sinker's process, so it only keeps the written payloads and the time; which
    request each event came from is read afterwards (:meth:`by_request`), off the measured run.
    """

    def __init__(self) -> None:
        self.writes: list[tuple[float, list[Any]]] = []
        self.total = 0
        self.expected = 0
        self.complete = asyncio.Event()
        self.completed_at = 0.0

    async def __call__(self, batch: Any) -> None:
        now = time.time()
        self.writes.append((now, batch.payloads))
        self.total += batch.count
        if self.expected and self.total >= self.expected and not self.complete.is_set():
            self.completed_at = now
            self.complete.set()

    def by_request(self) -> dict[int, list[tuple[float, int]]]:
        """request number -> (when written, events) of every write that held some of its events."""
        out: dict[int, list[tuple[float, int]]] = defaultdict(list)
        for written, payloads in self.writes:
            seqs: Counter[str | bytes] = Counter()
            for payload in payloads:  # device_id is "bench-<request>"
                if isinstance(payload, tuple):  # a message taken whole by the JSON insert
                    seqs.update(DEVICE.findall(payload[0]))
                else:  # the columnar insert's columns
                    seqs.update(payload[7])
            for device, n in seqs.items():
                out[int(device.rsplit(b"-" if isinstance(device, bytes) else "-", 1)[1])].append((written, n))
        return out

    async def settle(self, quiet: float = 1.0) -> None:
        """Until the sinker has written nothing for ``quiet`` seconds (a count of the table would not do:
        a batch the warm-up already sent is deduplicated by ClickHouse but still written)."""
        last = -1
        while self.total != last:
            last = self.total
            await asyncio.sleep(quiet)

    def reset(self, expected: int = 0) -> None:
        self.writes.clear()
        self.total = 0
        self.expected = expected
        self.complete = asyncio.Event()

    async def wait(self, client: Any, table: str, timeout: float = 300.0) -> float:
        """When the last expected row was written (its insert returned), checked with a count afterwards."""
        await asyncio.wait_for(self.complete.wait(), timeout)
        count = (await asyncio.to_thread(client.query, f"SELECT count() FROM {table}")).result_rows[0][0]
        assert count >= self.expected, (count, self.expected)
        return self.completed_at


def latencies_ms(arrivals: Arrivals, sent_at: dict[str, float], offset: int) -> list[float]:
    out: list[float] = []
    by_request = arrivals.by_request()
    for index, at in sent_at.items():
        for written, n in by_request.get(int(index) + offset, []):
            out.extend([(written - at) * 1000] * n)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_count(client: Any, table: str, expected: int, timeout: float = 300.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = (await asyncio.to_thread(client.query, f"SELECT count() FROM {table}")).result_rows[0][0]
        if count >= expected:
            return time.time()
        await asyncio.sleep(0.02)
    raise SystemExit(f"{table} has {count} of {expected} rows after {timeout} s")


def create_vhost(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True,
                   capture_output=True)  # fmt: skip


def delete_vhost(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False, capture_output=True)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg

    from barista_core import registry
    from barista_core.auth.apikeys import generate_api_key
    from barista_core.backends import open_clickhouse, open_postgres
    from barista_core.plans import Plan, effective_features, effective_limits

    stages = set(args.stages.split(","))
    work = Path(tempfile.mkdtemp(prefix="barista-bench-"))
    vhost = f"barista-bench-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(create_vhost, vhost)
    amqp_url = AMQP_BASE.rstrip("/") + "/" + vhost
    database = f"barista_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    pg_url = PG_URL.rsplit("/", 1)[0] + "/" + database
    processes: list[subprocess.Popen[bytes]] = []
    results: dict[str, Any] = {}
    try:
        pool = await open_postgres(pg_url)
        await registry.ensure_registry(pool)
        tenant = f"bench-{uuid.uuid4().hex[:6]}"
        await registry.upsert_tenant(pool, registry.TenantRecord(
            name=tenant, display_name="bench", plan=Plan.PAID,
            limits=effective_limits(Plan.PAID, {"eventsPerSecond": 100_000_000}),
            features=effective_features(Plan.PAID),
        ))  # fmt: skip
        key = generate_api_key()
        await registry.register_api_key(pool, tenant, key)
        await pool.close()

        log(f"generating {args.events:,} events in batches of {BATCH} (properties as {args.properties}; "
            "see --properties)…")  # fmt: skip
        requests = generate(args.events, seed=7, json_properties=(args.properties == "json"))
        requests_file = work / "requests.bin"
        write_requests(requests_file, requests)
        payloads = canonical_payloads(requests, tenant)
        log(f"{sum(len(r) for r in requests) / args.events:.0f} bytes/event on the wire; "
            f"{sum(len(p) for p in payloads) / len(payloads):.1f} AMQP messages per request")  # fmt: skip

        singles = work / "singles.bin"
        write_requests(singles, single_event_requests(args.properties == "json"))
        chdb = open_clickhouse(f"chdb://{work / 'chdb'}")
        raw = RawInsert(chdb, payloads, args.sink_batch) if "a" in stages else None
        if raw:
            RawInsert(chdb, payloads, BATCH).run()  # for comparison: inserts of one request's size
            if "d" not in stages:
                results["raw_clickhouse_rows_per_s"] = median_round([Round(raw.run(), 0) for _ in range(args.rounds)]
                                                                    ).raw_rows_per_s  # fmt: skip
        if "b" in stages:
            results["raw_amqp_events_per_s"] = await bench_raw_amqp(amqp_url, payloads)
        if "c" in stages:
            await asyncio.to_thread(bench_nop_grpc, args, requests_file, singles, processes, results)
        if "d" in stages or "e" in stages:
            barista = Barista(args, amqp_url, pg_url, tenant, key.token, chdb, work, processes)
            await barista.start()
            if "d" in stages:
                await barista.warm_up(requests_file)
                # (a) and (d) side by side, round after round: this machine's speed drifts by half within minutes
                rounds = []
                for _ in range(args.rounds):
                    rounds.append(Round(raw.run() if raw else None, await barista.end_to_end(requests_file)))
                    if raw:
                        log(f"    round {len(rounds)}: ratio {rounds[-1].ratio:.3f}")
                middle = median_round(rounds)
                results["events_per_s"] = middle.events_per_s
                if raw:
                    results["raw_clickhouse_rows_per_s"] = middle.raw_rows_per_s
                    log(f"(a)/(d) the round of median ratio: {middle.events_per_s:,.0f} events/s end to end against "
                        f"{middle.raw_rows_per_s:,.0f} rows/s raw, ratio {middle.ratio:.3f} (of "
                        f"{', '.join(f'{r.ratio:.3f}' for r in rounds)})")  # fmt: skip
                await barista.latency(requests, middle.events_per_s, results)
            if "s" in stages:  # the same events with the other properties encoding, for comparison
                other = "struct" if args.properties == "json" else "json"
                other_file = work / "other.bin"
                write_requests(other_file, generate(args.events, seed=7, json_properties=other == "json"))
                await barista.end_to_end(other_file, label=f"properties as {other}")
            if "e" in stages:
                await barista.unary(singles, results)
            await barista.stop()
    finally:
        for process in processes:
            stop_process(process)
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await asyncio.to_thread(delete_vhost, vhost)
        shutil.rmtree(work, ignore_errors=True)
    raw = [results[k] for k in ("raw_clickhouse_rows_per_s", "raw_amqp_events_per_s", "raw_grpc_events_per_s")
           if k in results]  # fmt: skip
    if raw and "events_per_s" in results:
        results["ratio_to_slowest_raw_stage"] = results["events_per_s"] / min(raw)
    return results


def single_event_requests(json_properties: bool) -> list[bytes]:
    """20,000 one-event requests (distinct events) for the unary measurements."""
    from barista_core.proto import events_pb2

    out = []
    for raw in generate(20_000, seed=11, json_properties=json_properties):
        for event in events_pb2.EventBatch.FromString(raw).events:
            out.append(events_pb2.EventBatch(events=[event]).SerializeToString())
    return out


class UnaryRuns(NamedTuple):
    rps: float
    calls: int
    failed: int  # errors, and answers that did not accept the event
    client_cpu_seconds: float  # the load generators' CPU while they sent


def unary_runs(args: argparse.Namespace, singles: Path, target: str, api_key: str) -> UnaryRuns:
    """Single-event calls from ``--unary-clients`` processes for ``--unary-seconds``."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(args.unary_clients) as pool:
        runs = list(pool.map(lambda _: run_client(singles, target, api_key, "duration",
                                                   concurrency=args.unary_concurrency, duration=args.unary_seconds,
                                                   count_accepted=bool(api_key), lean=args.lean),
                             range(args.unary_clients)))  # fmt: skip
    calls = sum(r["calls"] for r in runs)
    elapsed = max(r["finished"] for r in runs) - min(r["started"] for r in runs)
    failed = sum(r["errors"] for r in runs) + sum(r["calls"] - r["accepted"] for r in runs if api_key)
    return UnaryRuns(calls / elapsed, calls, failed, sum(r["cpu_seconds"] for r in runs))


def bench_nop_grpc(args: argparse.Namespace, requests_file: Path, singles: Path, processes: list,
                   results: dict) -> None:  # fmt: skip
    port = free_port()
    nop = start_process([sys.executable, __file__, "_nop_server", "--port", str(port)])
    processes.append(nop)
    wait_port(port, nop)
    target = f"127.0.0.1:{port}"
    run_client(requests_file, target, "", "closed", concurrency=args.concurrency, lean=args.lean)  # warm-up
    run = run_client(requests_file, target, "", "closed", concurrency=args.concurrency, lean=args.lean)
    results["raw_grpc_events_per_s"] = args.events / (run["finished"] - run["started"])
    log(f"(c) gRPC round trips to a do-nothing handler: {results['raw_grpc_events_per_s']:,.0f} events/s")
    if "e" in args.stages:
        server_before = cpu_seconds(nop.pid)
        unary = unary_runs(args, singles, target, "")
        server_us = (cpu_seconds(nop.pid) - server_before) / unary.calls * 1e6
        results["raw_grpc_unary_rps"] = unary.rps
        log(f"    single-event unary calls to the do-nothing handler: {unary.rps:,.0f} RPC/s (same load generator as "
            f"(e)); CPU per call (µs): server {server_us:.0f}, load generator "
            f"{unary.client_cpu_seconds / unary.calls * 1e6:.0f}")  # fmt: skip
    stop_process(nop)


class Barista:
    """The ingest server (a subprocess) and a ClickHouse sinker in this process."""

    def __init__(self, args: argparse.Namespace, amqp_url: str, pg_url: str, tenant: str, api_key: str, chdb: Any,
                 work: Path, processes: list) -> None:  # fmt: skip
        self.args, self.amqp_url, self.pg_url, self.tenant, self.api_key = args, amqp_url, pg_url, tenant, api_key
        self.chdb, self.work, self.processes = chdb, work, processes
        self.arrivals = Arrivals()

    async def start(self) -> None:
        from barista_core.contracts import SinkerSettings
        from barista_core.naming import sink_queue, tenant_database
        from barista_ingest.app import connect_broker, start_sinker

        self.port = free_port()
        env = {
            "BARISTA_BROKER_URL": self.amqp_url, "BARISTA_REDIS_URL": REDIS_URL, "BARISTA_POSTGRES_URL": self.pg_url,
            "BARISTA_GRPC_HOST": "127.0.0.1", "BARISTA_GRPC_PORT": str(self.port),
            "BARISTA_PROBE_PORT": str(free_port()), "BARISTA_LOG_LEVEL": "WARNING", "BARISTA_LOG_FORMAT": "json",
        }  # fmt: skip
        self.server = start_process([sys.executable, "-m", "barista_ingest", "serve"], env=env)
        self.processes.append(self.server)
        wait_port(self.port, self.server)
        for _ in range(self.args.server_processes - 1):  # more servers on the same port (SO_REUSEPORT)
            extra = start_process([sys.executable, "-m", "barista_ingest", "serve"],
                                  env={**env, "BARISTA_PROBE_PORT": str(free_port())})  # fmt: skip
            self.processes.append(extra)
        await asyncio.sleep(2.0 if self.args.server_processes > 1 else 0)
        self.target = f"127.0.0.1:{self.port}"
        self.broker = await connect_broker(self.amqp_url)
        settings = SinkerSettings.model_validate({
            "tenant": self.tenant, "sink_name": "bench", "queue": sink_queue(self.tenant, "bench"),
            "broker_url": self.amqp_url, "destination": "clickhouse", "clickhouse_url": f"chdb://{self.work / 'chdb'}",
            "batch_max_events": self.args.sink_batch, "batch_max_delay_ms": self.args.sink_delay_ms,
        })  # fmt: skip
        self.sinker = await start_sinker(settings, broker=self.broker, clickhouse=self.chdb, after_write=self.arrivals)
        self.table = f"`{tenant_database(self.tenant)}`.events"

    async def stop(self) -> None:
        await self.sinker.stop(grace=30)
        await self.broker.close()

    async def truncate(self) -> None:
        await asyncio.to_thread(self.chdb.command, f"TRUNCATE TABLE {self.table}")
        self.arrivals.reset()

    def spy(self, name: str) -> list[subprocess.Popen[bytes]]:
        if not self.args.profile:
            return []
        spies = []
        for who, pid in (("server", self.server.pid), ("sinker", os.getpid())):
            spies.append(subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--rate", "200",
                 "--format", "raw", "--nonblocking", "-o", str(Path(self.args.profile) / f"{name}-{who}.txt")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))  # fmt: skip
        return spies

    @staticmethod
    def unspy(spies: list[subprocess.Popen[bytes]]) -> None:
        for spy in spies:
            spy.send_signal(2)
            spy.wait(30)

    async def warm_up(self, requests_file: Path) -> None:
        # empty first: the warm-up waits for its own rows, not for rows an earlier stage left behind (else its
        # stragglers are written after the truncate below and counted as arrivals of the measured run)
        await self.truncate()
        warm = await run_client_async(requests_file, self.target, self.api_key, "duration", concurrency=4,
                                      duration=2.0, count_accepted=True, lean=self.args.lean)  # fmt: skip
        assert warm["errors"] == 0, warm
        await wait_count(self.chdb, self.table, min(self.args.events, warm["calls"] * BATCH))
        await self.arrivals.settle()  # a short run waits for fewer rows than the warm-up sent

    async def end_to_end(self, requests_file: Path, *, label: str = "") -> float:
        """One pass of (d): events/s until every row is queryable."""
        args = self.args
        await self.truncate()
        spies = self.spy("e2e")
        self.arrivals.reset(args.events)
        meter = CpuMeter(self.server.pid)
        run = await run_client_async(requests_file, self.target, self.api_key, "closed",
                                     concurrency=args.concurrency, count_accepted=True, lean=args.lean)  # fmt: skip
        done = await self.arrivals.wait(self.chdb, self.table)
        cpu = meter.report(args.events)
        self.unspy(spies)
        assert run["accepted"] == args.events, run
        assert run["errors"] == 0, run
        e2e = args.events / (done - run["started"])
        rpc_rate = args.events / (run["finished"] - run["started"])
        stage = f"(d, {label})" if label else "(d)"
        log(f"{stage} Barista end to end: {e2e:,.0f} events/s until all {args.events:,} rows were queryable "
            f"(accepted at {rpc_rate:,.0f} events/s; the last row was queryable {done - run['finished']:.2f} s "
            "after the last answer)")  # fmt: skip
        log(f"    {cpu}; the load generator {run['cpu_seconds'] / args.events * 1e6:.1f} µs per event")
        messages = sum(len(payloads) for _, payloads in self.arrivals.writes)
        log(f"    {messages} AMQP messages ({args.events / messages:,.0f} events each) in "
            f"{len(self.arrivals.writes)} inserts")  # fmt: skip
        full = latencies_ms(self.arrivals, run["sent_at"], 0)
        log(f"    send → queryable at full load: p50 {percentile(full, 0.5):,.0f} ms, "
            f"p99 {percentile(full, 0.99):,.0f} ms")  # fmt: skip
        return e2e

    async def latency(self, requests: list[bytes], e2e: float, results: dict) -> None:
        """Send → queryable at half of ``e2e``: requests leave on a fixed schedule."""
        args = self.args
        await self.truncate()
        half = e2e / 2
        count = min(len(requests), max(20, int(half * args.latency_seconds / BATCH)))
        subset = self.work / "half.bin"
        write_requests(subset, requests[:count])
        self.arrivals.reset(count * BATCH)
        paced = await run_client_async(subset, self.target, self.api_key, "rate", rate=half / BATCH,
                                       count_accepted=True, lean=args.lean)  # fmt: skip
        await self.arrivals.wait(self.chdb, self.table)
        lat = latencies_ms(self.arrivals, paced["sent_at"], 0)
        results["p99_to_queryable_ms"] = percentile(lat, 0.99)
        log(f"    send → queryable at half load ({half:,.0f} events/s for {count * BATCH / half:.1f} s): "
            f"p50 {percentile(lat, 0.5):,.0f} ms, p99 {results['p99_to_queryable_ms']:,.0f} ms, "
            f"max {max(lat):,.0f} ms")  # fmt: skip

    async def unary(self, singles: Path, results: dict) -> None:
        args = self.args
        spies = self.spy("unary")
        meter = CpuMeter(self.server.pid)
        unary = await asyncio.to_thread(unary_runs, args, singles, self.target, self.api_key)
        cpu = meter.report(unary.calls)
        self.unspy(spies)
        assert unary.failed == 0, f"{unary.failed} single-event calls were not accepted"
        results["unary_single_event_rps"] = unary.rps
        log(f"(e) single-event unary Publish: {unary.rps:,.0f} RPC/s ({args.unary_clients} client processes x "
            f"{args.unary_concurrency} in flight; {unary.failed} calls not accepted)")  # fmt: skip
        log(
            f"    {cpu.replace('per event', 'per call')}; the load generator "
            f"{unary.client_cpu_seconds / unary.calls * 1e6:.0f} µs per call"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=300_000, help="events per run (a multiple of 500)")
    parser.add_argument("--stages", default="a,b,c,d,s,e",
                        help="stages to run: a,b,c,d,e as in the docstring; s = (d) again with the other properties "
                        "encoding, printed only")  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight for (c) and (d)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="(a) then (d), this many times; the figures are the round's of median ratio")  # fmt: skip
    parser.add_argument("--sink-batch", type=int, default=10_000, help="sinker batch size (also raw insert size)")
    parser.add_argument("--sink-delay-ms", type=int, default=200, help="sinker max delay")
    parser.add_argument("--latency-seconds", type=float, default=8.0, help="length of the half-load run")
    parser.add_argument("--unary-seconds", type=float, default=6.0)
    parser.add_argument("--unary-clients", type=int, default=2, help="load-generator processes for (e)")
    parser.add_argument("--unary-concurrency", type=int, default=64)
    parser.add_argument("--load-generator", choices=["lean", "grpc"], default="lean",
                        help="lean: calls as raw HTTP/2 frames (lean_grpc_load.py: tens of µs of CPU a call); grpc: "
                        "grpc.aio's client (~300 µs a one-event call, ~1.6 ms a 500-event one), taken from the "
                        "two cores the servers share")  # fmt: skip
    parser.add_argument("--server-processes", type=int, default=1, help="ingest server processes on one port")
    parser.add_argument("--profile", help="directory for py-spy profiles of the server and the sinker")
    parser.add_argument("--properties", choices=["json", "struct"], default="json",
                        help="how events carry their properties: properties_json (the cheaper encoding the proto "
                        "recommends for volume) or a google.protobuf.Struct")  # fmt: skip
    sub = parser.add_subparsers(dest="internal")
    client = sub.add_parser("_client")
    client.add_argument("--requests")
    client.add_argument("--target")
    client.add_argument("--api-key", default="")
    client.add_argument("--mode", choices=["closed", "rate", "duration"])
    client.add_argument("--concurrency", type=int, default=8)
    client.add_argument("--rate", type=float, default=0.0)
    client.add_argument("--duration", type=float, default=0.0)
    client.add_argument("--count-accepted", action="store_true")
    client.add_argument("--lean", action="store_true")
    nop = sub.add_parser("_nop_server")
    nop.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.internal == "_client":
        from barista_core.tuning import tune_process

        tune_process()  # the same for every process of the run, the raw baselines included
        asyncio.run(client_main(args))
        return
    if args.internal == "_nop_server":
        from barista_core.tuning import tune_process

        tune_process()
        nop_server_main(args.port)
        return
    from barista_core.logging import configure_logging
    from barista_core.tuning import tune_process

    tune_process()  # as barista-ingest does at start-up: this process runs the sinker
    configure_logging("WARNING", "console")
    args.events -= args.events % BATCH
    args.lean = args.load_generator == "lean"
    results = uvloop.run(main_async(args))  # the loop barista-ingest runs its sinker on
    keys = ["events_per_s", "raw_clickhouse_rows_per_s", "raw_amqp_events_per_s", "raw_grpc_events_per_s",
            "ratio_to_slowest_raw_stage", "p99_to_queryable_ms", "unary_single_event_rps"]  # fmt: skip
    print(json.dumps({k: round(results[k], 3 if k == "ratio_to_slowest_raw_stage" else 1) for k in keys
                      if k in results}))  # fmt: skip


if __name__ == "__main__":
    main()
