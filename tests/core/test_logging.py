from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
from barista_core.logging import configure_logging, get_logger
configure_logging("INFO", "{fmt}", component="ingest")
get_logger("t").info("batch flushed", events=3)
"""


def run(fmt: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(fmt=fmt)], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stderr.strip()


def test_json_lines_carry_context():
    line = json.loads(run("json"))
    assert line["event"] == "batch flushed"
    assert line["events"] == 3
    assert line["component"] == "ingest"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")


def test_auto_is_json_when_not_a_terminal():
    assert json.loads(run("auto"))["event"] == "batch flushed"


def test_console_is_readable():
    text = run("console")
    assert "batch flushed" in text and "events=3" in text
    assert not text.startswith("{")
