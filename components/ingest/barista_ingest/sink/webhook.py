"""Webhook destination: POST each batch as signed JSON.

Request::

    POST <url>
    Content-Type: application/json
    X-Barista-Timestamp: 1764324000                 (Unix seconds, fresh on every attempt)
    X-Barista-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>
    X-Barista-Batch-Id: <stable id of the batch; repeated on retries>   (also Idempotency-Key)
    X-Barista-Event-Count: 500

    {"tenant": "acme", "sink": "orders-hook", "batch_id": "…", "events": [<canonical events>]}

Receivers verify with :func:`verify_signature` (or its three lines in any language) and should
reject timestamps older than a few minutes. Outcomes: 2xx = written; 408/429 = retry after the
``Retry-After`` the receiver gave (else backoff); 5xx, timeouts and connection errors = retry with
jittered exponential backoff; 413 = split the batch; any other 4xx (and 3xx) = no retry, straight to
the dead-letter queue with the status in the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx
import orjson

from barista_core.http import parse_retry_after
from barista_ingest.sink.model import Batch, WriteError

SIGNATURE_HEADER = "X-Barista-Signature"
TIMESTAMP_HEADER = "X-Barista-Timestamp"
BATCH_HEADER = "X-Barista-Batch-Id"
COUNT_HEADER = "X-Barista-Event-Count"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: bytes, body: bytes, timestamp: str, signature: str, *, tolerance: float = 300.0, now: float | None = None
) -> bool:
    """What a receiver does: recompute the HMAC, compare in constant time, refuse stale timestamps."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def batch_body(tenant: str, sink: str, batch: Batch) -> bytes:
    """The request body, spliced from the parts' JSON (whole messages are not re-encoded)."""
    parts = [payload for payload in batch.payloads if payload]
    head = orjson.dumps({"tenant": tenant, "sink": sink, "batch_id": batch.token})[:-1]
    return head + b',"events":[' + b",".join(parts) + b"]}"


class WebhookWriter:
    destination = "webhook"

    def __init__(self, url: str, secret: str | bytes, *, tenant: str, sink: str, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.tenant = tenant
        self.sink = sink
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def prepare(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            headers={"User-Agent": "barista-sinker/1", "Content-Type": "application/json"},
        )

    def encode(self, events: list[dict[str, Any]], body: bytes | None) -> bytes:
        """The events as the inside of a JSON array: the message's own text when it is all of it."""
        if body is not None:
            return body.strip()[1:-1].strip()
        return orjson.dumps(events)[1:-1]

    def encode_raw(self, body: bytes, count: int) -> bytes:
        """A whole message's JSON array (``[{…},…]``, as the publisher writes it) without its brackets."""
        return body[1:-1]

    async def write(self, batch: Batch) -> None:
        assert self._client is not None, "prepare() first"
        body = batch_body(self.tenant, self.sink, batch)
        timestamp = str(int(time.time()))
        headers = {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
            BATCH_HEADER: batch.token,
            "Idempotency-Key": batch.token,
            COUNT_HEADER: str(batch.count),
        }
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise WriteError(f"webhook_timeout: no answer within {self.timeout:g} s", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise WriteError(f"webhook_unreachable: {type(exc).__name__}: {exc}", retryable=True) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = f"HTTP {status} from {self.url}"
        text = response.text[:200].strip()
        if text:
            detail += f": {text}"
        if status in (408, 429):
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise WriteError(f"webhook_throttled: {detail}", retryable=True, retry_after=retry_after)
        if status >= 500:
            raise WriteError(f"webhook_server_error: {detail}", retryable=True)
        if status == 413:
            raise WriteError(f"webhook_payload_too_large: {detail}", retryable=False, split=True)
        raise WriteError(f"webhook_rejected: {detail}", retryable=False)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
