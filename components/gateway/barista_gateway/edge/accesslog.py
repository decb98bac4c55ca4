"""Structured access logs: one JSON line per request, written in batches (cheap enough to stay on).

Never logged: credentials (Authorization, X-API-Key, cookies), request or response bodies. The
query string is logged (the API takes no secrets in it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any

import orjson


class AccessLog:
    def __init__(self, *, fd: int = 2, enabled: bool = True, flush_every: float = 0.25, max_buffer: int = 256) -> None:
        self.fd = fd
        self.enabled = enabled
        self.flush_every = flush_every
        self.max_buffer = max_buffer
        self._lines: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None

    def write(self, entry: dict[str, Any]) -> None:
        if not self.enabled:
            return
        entry["ts"] = time.time()
        self._lines.append(orjson.dumps(entry))
        if len(self._lines) >= self.max_buffer:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.flush_every, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            data = b"\n".join(self._lines) + b"\n"
            self._lines.clear()
            with contextlib.suppress(OSError):  # a closed stderr must not break serving
                os.write(self.fd, data)
