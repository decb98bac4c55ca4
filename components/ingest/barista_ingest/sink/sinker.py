"""The sinker: consume one Sink's queue, buffer, flush batches to a writer, ack only after the write.

- A prefetch window bounds unacked messages; the reader decodes each message and buffers it.
- A batch is flushed when it holds ``max_events`` events or ``max_bytes`` bytes, or when its oldest
  message has waited ``max_delay`` seconds — whichever comes first. The next batch fills while one is
  being written.
- A failing write is retried with jittered exponential backoff (or the destination's Retry-After)
  up to ``max_attempts``; then the batch goes to the dead-letter queue with the reason attached.
  Errors that may be the batch's own fault are bisected so one poison message does not take
  its neighbours with it. Undecodable messages go to the dead-letter queue at once.
- Messages are acked after their batch was written (or dead-lettered); a crash in between means
  redelivery, and writers are idempotent by event id.
- ``stop`` ends consumption, flushes what is buffered, then returns; unbuffered prefetched messages
  go back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from barista_core.broker import Broker, Delivery, topic_matches
from barista_core.events import COUNT_HEADER, TENANT_HEADER, UndecodableMessage, decode_events, message_body
from barista_core.logging import get_logger
from barista_ingest import metrics
from barista_ingest.sink.deadletter import DeadLetterer, _settle
from barista_ingest.sink.model import Batch, BatchWriter, Consumed, DeliveryPolicy, Pending, WriteError

log = get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchPolicy:
    max_events: int = 5_000
    max_bytes: int = 4 * 1024 * 1024
    max_delay: float = 1.0


class Sinker:
    def __init__(
        self,
        broker: Broker,
        queue: str,
        writer: BatchWriter,
        *,
        tenant: str,
        sink: str,
        batch: BatchPolicy | None = None,
        delivery: DeliveryPolicy | None = None,
        dead_letters: DeadLetterer | None = None,
        prefetch: int = 10_000,
        event_types: Sequence[str] = ("#",),
        after_write: Callable[[Batch], Awaitable[None]] | None = None,
    ) -> None:
        self.broker = broker
        self.queue = queue
        self.writer = writer
        self.tenant = tenant
        self.sink = sink
        self.batch = batch or BatchPolicy()
        self.delivery = delivery or DeliveryPolicy()
        self.dead_letters = dead_letters or DeadLetterer(broker, None, sink=sink)
        self.prefetch = prefetch
        #: The Sink's event-type patterns: a message may hold other types too (it is routed by all of them).
        self.event_types = tuple(event_types)
        self._match_all = "#" in self.event_types
        #: The writer's way to take a message's JSON as it is (see :meth:`_raw`), if it has one.
        self._encode_raw: Callable[[bytes, int], object | None] | None = getattr(writer, "encode_raw", None)
        self._wanted: dict[str, bool] = {}
        #: Called after a batch was written and before it is acked (instrumentation; tests use it to crash there).
        self.after_write = after_write
        self._buffer: deque[tuple[float, Pending]] = deque()
        self._buffered_events = 0
        self._buffered_bytes = 0
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._stopping = False
        self.events_written = 0
        self.batches_written = 0
        self._labels = (sink,)

    # ---- running -------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, then flush the buffer and return."""
        async with self.broker.consume(self.queue, prefetch=self.prefetch) as deliveries:
            reader = asyncio.create_task(self._read(deliveries), name=f"sinker-read-{self.sink}")
            stopper = asyncio.create_task(stop.wait(), name=f"sinker-stop-{self.sink}")
            stopper.add_done_callback(lambda _: self._request_stop())
            reader.add_done_callback(lambda _: self._request_stop())
            try:
                await self._flush_loop()
            finally:
                reader.cancel()
                stopper.cancel()
                await asyncio.gather(reader, stopper, return_exceptions=True)
            if reader.done() and not reader.cancelled() and reader.exception() is not None:
                raise reader.exception()  # type: ignore[misc]
        log.info("sinker stopped", sink=self.sink, events_written=self.events_written)

    def _request_stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._room.set()

    async def _read(self, deliveries: AsyncIterator[Delivery]) -> None:
        batch = self.batch
        async for delivery in deliveries:
            parts = await self._decode(delivery)
            now = time.monotonic()
            for pending in parts:
                self._buffer.append((now, pending))
                self._buffered_events += pending.count
                self._buffered_bytes += pending.size
            metrics.SINK_BUFFERED_EVENTS.labels(*self._labels).set(self._buffered_events)
            if (
                len(self._buffer) == 1
                or self._buffered_events >= batch.max_events
                or self._buffered_bytes >= batch.max_bytes
            ):
                self._wake.set()
            if self._buffered_events >= 2 * batch.max_events or self._buffered_bytes >= 2 * batch.max_bytes:
                self._room.clear()  # one batch being written and one full behind it: wait
                await self._room.wait()
            if self._stopping:
                return

    async def _decode(self, delivery: Delivery) -> list[Pending]:
        """The message as buffered parts (usually one), encoded by the writer; poison goes to the DLQ."""
        message = delivery.message
        size = len(message.body)
        try:
            tenant = message.headers.get(TENANT_HEADER)
            if tenant is not None and str(tenant) != self.tenant:
                raise UndecodableMessage(f"message belongs to tenant {tenant!r}, this sink to {self.tenant!r}")
            body = message_body(message)  # the JSON, decompressed: what the batch limits and the writers count
            size = len(body)
            if self._encode_raw is not None and tenant is not None and not delivery.redelivered:
                pending = self._raw(delivery, body)
                if pending is not None:
                    return [pending]
            events = decode_events(body)
            whole = True
            if not self._match_all:
                kept = [e for e in events if self._wants(str(e.get("type")))]
                if len(kept) != len(events):
                    size = size * len(kept) // max(1, len(events))
                    events, whole = kept, False
            if not events:
                await _settle(delivery.ack())
                return []
            limit = self.batch.max_events
            if len(events) <= limit and size <= self.batch.max_bytes:
                payload = self.writer.encode(events, body if whole else None)
                return [Pending(Consumed(delivery, filtered=not whole), payload, len(events), size)]
            # larger than a batch may be: split it; the message is acked when its last part is written
            per_event = max(1, size // len(events))
            step = max(1, min(limit, self.batch.max_bytes // per_event))
            chunks = [events[i : i + step] for i in range(0, len(events), step)]
            consumed = Consumed(delivery, parts=len(chunks), filtered=True)
            return [
                Pending(consumed, self.writer.encode(chunk, None), len(chunk), per_event * len(chunk), part)
                for part, chunk in enumerate(chunks)
            ]
        except (UndecodableMessage, KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = (
                str(exc) if isinstance(exc, UndecodableMessage) else f"malformed event: {type(exc).__name__}: {exc}"
            )
            await self.dead_letters.send([Pending(Consumed(delivery), None, 0, size)], f"undecodable: {reason}")
            return []

    def _raw(self, delivery: Delivery, body: bytes) -> Pending | None:
        """The message as one part handed to the writer undecoded, when nothing needs to look inside it.

        That is a message of Barista's own publisher (it states its event count), first delivered (a
        redelivered one is checked against what a previous sinker may have written), within one batch,
        to a Sink that wants every type. The writer then passes the JSON on as it is (ClickHouse parses
        it; a webhook splices it into its body) instead of decoding and re-encoding every event here.
        """
        count = delivery.message.headers.get(COUNT_HEADER)
        size = len(body)
        if (
            not self._match_all
            or type(count) is not int
            or not 0 < count <= self.batch.max_events
            or size > self.batch.max_bytes
        ):
            return None
        if body[:2] != b"[{" or body[-2:] != b"}]":
            return None  # not what the publisher writes: the checked path says what is wrong with it
        payload = self._encode_raw(body, count)  # type: ignore[misc]
        if payload is None:
            return None
        return Pending(Consumed(delivery), payload, count, size)

    def _wants(self, event_type: str) -> bool:
        wanted = self._wanted.get(event_type)
        if wanted is None:
            wanted = any(topic_matches(pattern, event_type) for pattern in self.event_types)
            if len(self._wanted) < 10_000:
                self._wanted[event_type] = wanted
        return wanted

    async def _flush_loop(self) -> None:
        while True:
            if not self._buffer:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            oldest = self._buffer[0][0]
            full = self._buffered_events >= self.batch.max_events or self._buffered_bytes >= self.batch.max_bytes
            wait = oldest + self.batch.max_delay - time.monotonic()
            if not full and wait > 0 and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            await self._deliver(self._take())

    def _take(self) -> Batch:
        items: list[Pending] = []
        events = size = 0
        while self._buffer:
            pending = self._buffer[0][1]
            if items and (events + pending.count > self.batch.max_events or size + pending.size > self.batch.max_bytes):
                break
            self._buffer.popleft()
            items.append(pending)
            events += pending.count
            size += pending.size
        self._buffered_events -= events
        self._buffered_bytes -= size
        metrics.SINK_BUFFERED_EVENTS.labels(*self._labels).set(self._buffered_events)
        if self._buffered_events < 2 * self.batch.max_events and self._buffered_bytes < 2 * self.batch.max_bytes:
            self._room.set()
        return Batch(items)

    # ---- writing -------------------------------------------------------------------------------------

    async def _deliver(self, batch: Batch) -> None:
        started = time.perf_counter()
        metrics.SINK_BATCH_EVENTS.labels(*self._labels).observe(batch.count)
        metrics.SINK_BATCH_BYTES.labels(*self._labels).observe(batch.size)
        await self._write_or_dead_letter(batch)
        metrics.SINK_FLUSH_SECONDS.labels(*self._labels).observe(time.perf_counter() - started)

    async def _write_or_dead_letter(self, batch: Batch) -> None:
        attempt = 0
        policy = self.delivery
        while True:
            attempt += 1
            try:
                await self.writer.write(batch)
            except WriteError as exc:
                kind = "retryable" if exc.retryable else "permanent"
                metrics.SINK_WRITE_FAILURES.labels(self.sink, kind).inc()
                if exc.split and len(batch.items) > 1:
                    log.warning("write failed; bisecting the batch", error=str(exc), messages=len(batch.items))
                    for half in batch.split():
                        await self._write_or_dead_letter(half)
                    return
                exhausted = policy.dead_letter and attempt >= policy.max_attempts
                if not exc.retryable or exhausted:
                    reason = str(exc) if not exc.retryable else f"attempts_exhausted: {attempt} attempts; last: {exc}"
                    if await self.dead_letters.send(batch.items, reason, attempts=attempt):
                        return
                    await asyncio.sleep(policy.backoff(attempt))  # could not dead-letter: messages were requeued
                    return
                delay = policy.backoff(attempt, exc.retry_after)
                log.warning("write failed; retrying", error=str(exc), attempt=attempt, retry_in_s=round(delay, 3))
                await asyncio.sleep(delay)
                continue
            break
        if self.after_write is not None:
            await self.after_write(batch)
        for item in batch.items:
            consumed = item.message
            consumed.written += 1
            if consumed.written == consumed.parts and not consumed.settled:
                consumed.settled = True
                await _settle(consumed.delivery.ack())
        self.events_written += batch.count
        self.batches_written += 1
        metrics.SINK_EVENTS_WRITTEN.labels(self.sink, self.writer.destination).inc(batch.count)
        metrics.SINK_BATCHES_WRITTEN.labels(self.sink, self.writer.destination).inc()


async def watch_queue_depth(broker: Broker, queue: str, sink: str, *, every: float = 10.0) -> None:
    """Sample the queue's depth into ``barista_sink_queue_depth`` until cancelled."""
    gauge = metrics.SINK_QUEUE_DEPTH.labels(sink, queue)
    while True:
        try:
            gauge.set(await broker.queue_depth(queue))
        except Exception as exc:  # a probe: report, never crash the sinker
            log.debug("queue depth unavailable", error=str(exc))
        await asyncio.sleep(every)
