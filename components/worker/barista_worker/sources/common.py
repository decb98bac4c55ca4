"""Small conversions every parser needs: counts that arrive as strings, epoch seconds, trimmed text."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from barista_worker.model import ParseError

#: A browser-like identity for sources that refuse obvious bots; the rest see the worker's own name.
USER_AGENT = "barista-worker/0.1 (+https://github.com/barista-dev/barista)"
BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
_DIGITS = re.compile(r"^[0-9]+$")


def count(value: Any) -> int | None:
    """A non-negative whole number from an int, a whole float or a string of digits (YouTube's counts)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


def number(value: Any) -> float | None:
    """A float from a number or a decimal string (Shopify's prices)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def text(value: Any, limit: int = 2000) -> str | None:
    """Stripped text of at most ``limit`` characters; None for non-strings and empty strings."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:limit] if value else None


def epoch_iso(seconds: Any) -> str | None:
    """RFC 3339 (UTC, ``Z``) of epoch seconds."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def obj(value: Any, what: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else a :class:`ParseError` saying which part is malformed."""
    if not isinstance(value, Mapping):
        raise ParseError(f"{what} is {type(value).__name__}, not an object")
    return value


def items(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ParseError(f"{what} is {type(value).__name__}, not a list")
    return value


def compact(properties: dict[str, Any]) -> dict[str, Any]:
    """Drop absent values (None): a snapshot says only what the source said."""
    return {k: v for k, v in properties.items() if v is not None}
