from __future__ import annotations

import pytest

from barista_core.http import parse_retry_after

NOW = 1_784_000_000.0  # 2026-07-14T03:33:20Z


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Tue, 14 Jul 2026 03:35:20 GMT", 120.0),
        ("Tue, 14 Jul 2026 03:30:00 GMT", 0.0),  # already past: retry now
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("Tue, 14 Jul 2026 03:35:20 -0000", None),  # no zone: not an HTTP date
    ],
)
def test_retry_after_is_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds
