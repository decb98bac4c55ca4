"""Shared fixtures for the scoring tests: one scorer per test process (names DB and weights load once)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from barista_scoring.scorer import Scorer, default_scorer

EVAL_DIR = Path(__file__).resolve().parents[2] / "components" / "scoring" / "eval"


@pytest.fixture(scope="session")
def scorer() -> Scorer:
    return default_scorer()


@pytest.fixture(scope="session")
def eval_modules() -> Path:
    """Make the evaluation scripts (dataset.py, fit_weights.py) importable."""
    if str(EVAL_DIR) not in sys.path:
        sys.path.insert(0, str(EVAL_DIR))
    return EVAL_DIR
