"""What a sinker moves around: consumed messages, batches of them, and how writes fail."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any, Protocol

from barista_core.broker import Delivery


@dataclass(slots=True, eq=False)
class Consumed:
    """One broker message. Its events may be split over several batches (parts); it is acked once
    every part was written, or dead-lettered as a whole."""

    delivery: Delivery
    parts: int = 1
    written: int = 0
    settled: bool = False
    #: Some of its events were left out (split into parts, or of types the Sink does not want).
    filtered: bool = False


@dataclass(slots=True)
class Pending:
    """One part of a consumed message (usually the whole of it), already encoded by the writer.

    Messages are turned into the writer's form (:meth:`BatchWriter.encode`) as they arrive, so the
    buffer holds compact columns or JSON text rather than thousands of decoded dicts.
    """

    message: Consumed
    payload: Any  # what BatchWriter.encode made of the events
    count: int  # events
    size: int  # bytes of (this part of) the message body
    part: int = 0

    @property
    def delivery(self) -> Delivery:
        return self.message.delivery


@dataclass(slots=True)
class Batch:
    """Parts written together; their messages are acked once written (or dead-lettered)."""

    items: list[Pending]
    count: int = field(init=False)
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.count = sum(item.count for item in self.items)
        self.size = sum(item.size for item in self.items)

    @property
    def payloads(self) -> list[Any]:
        return [item.payload for item in self.items]

    @property
    def redelivered(self) -> bool:
        """Whether any message was delivered before (a previous sinker may have written it already)."""
        return any(item.message.delivery.redelivered for item in self.items)

    @property
    def token(self) -> str:
        """A stable id of this exact batch (same messages → same token), for idempotent retries."""
        digest = hashlib.sha256()
        for item in self.items:
            message = item.message.delivery.message
            digest.update((message.message_id or hashlib.sha256(message.body).hexdigest()).encode())
            digest.update(f":{item.part}\0".encode())
        return digest.hexdigest()[:40]

    def split(self) -> tuple[Batch, Batch]:
        half = len(self.items) // 2
        return Batch(self.items[:half]), Batch(self.items[half:])


class WriteError(Exception):
    """A batch could not be written.

    ``retryable``: trying the same batch again later may succeed (timeouts, 5xx, connection errors).
    ``split``: the batch itself may be at fault (bad data, too large) — writing halves may isolate it.
    ``retry_after``: the destination asked to wait this many seconds (HTTP 429/408 Retry-After).
    """

    def __init__(self, message: str, *, retryable: bool, split: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.split = split
        self.retry_after = retry_after


class BatchWriter(Protocol):
    """A destination: ClickHouse or a webhook."""

    destination: str

    async def prepare(self) -> None:
        """Get ready before consuming (migrations, clients)."""

    def encode(self, events: list[dict[str, Any]], body: bytes | None) -> Any:
        """Turn one message's (part's) decoded events into what :meth:`write` takes; ``body`` is the message's
        JSON when ``events`` are all of it. Raise ``ValueError``/``KeyError``/``TypeError`` for malformed
        events: the message is then dead-lettered as undecodable."""

    # Optional: ``encode_raw(body: bytes, count: int) -> Any | None`` takes a whole message of Barista's own
    # publisher undecoded (its JSON array as it is, ``count`` events); None means "decode it, please".
    # Writers that have it must accept such payloads in :meth:`write` too.

    async def write(self, batch: Batch) -> None:
        """Write every event of ``batch`` or raise :class:`WriteError`; may be called again with the same batch."""

    async def close(self) -> None: ...


#: The longest Retry-After a sinker honours (seconds); a receiver asking for more gets retried after this.
MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryPolicy:
    """Retries of a failing batch: jittered exponential backoff, then the dead-letter queue."""

    max_attempts: int = 8
    initial_backoff: float = 0.5
    max_backoff: float = 300.0
    dead_letter: bool = True

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        A destination's ``retry_after`` (HTTP Retry-After) is honoured as given, even above
        ``max_backoff``, up to :data:`MAX_RETRY_AFTER`.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        ceiling = min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter": never less than half the step
