"""JSON answers the edge writes itself: errors (``{"error": {"code", "message", "request_id", ...}}``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import orjson

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
JSON = (b"content-type", b"application/json")


def error_body(code: str, message: str, request_id: str, **extra: Any) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "request_id": request_id, **extra}})


async def send_json(send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [JSON, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    request_id: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
    **extra: Any,
) -> None:
    await send_json(
        send, status, error_body(code, message, request_id, **extra), [(b"x-request-id", request_id.encode()), *headers]
    )
