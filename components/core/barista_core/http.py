"""Small HTTP helpers every outbound client shares (webhook sinkers, scrape workers)."""

from __future__ import annotations

import email.utils
import time


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110: delta-seconds or an HTTP date in GMT);
    None when absent or unreadable. A date in the past means "now" (0)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": no zone given, which an HTTP date may not be
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
