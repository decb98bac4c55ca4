"""Bad configuration ends with one clear line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **env})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BARISTA_OPERATOR_PRIORITY": "high"}, "error: BARISTA_OPERATOR_PRIORITY is invalid"),
        ({"BARISTA_OPERATOR_LOG_LEVEL": "LOUD"}, "error: BARISTA_OPERATOR_LOG_LEVEL is invalid"),
    ],
)
def test_operator_refuses_bad_environment_in_one_line(env, message):
    result = run([sys.executable, "-m", "barista_operator"], env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
