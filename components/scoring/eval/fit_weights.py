"""Fit the ensemble's weights on the training split and write ``barista_scoring/data/weights.json``.

Run: ``uv run --frozen python components/scoring/eval/fit_weights.py`` (``--check`` fails when the
committed weights differ from a refit, e.g. after a feature changed).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dataset import GENERATED, load_generated

from barista_scoring.features import COLUMNS, FEATURES
from barista_scoring.model import fit
from barista_scoring.scorer import Scorer

WEIGHTS = Path(__file__).resolve().parents[1] / "barista_scoring" / "data" / "weights.json"
L2 = 1.0


#: Features a caller may leave out entirely (the API takes a handle and a name alone).
OPTIONAL_FEATURES = ("graph", "completeness")


def without(x: np.ndarray, features: tuple[str, ...]) -> np.ndarray:
    """``x`` with the columns of ``features`` unknown (nan) in every row."""
    out = x.copy()
    start = 0
    for feature in FEATURES:
        width = len(COLUMNS[feature])
        if feature in features:
            out[:, start : start + width] = np.nan
        start += width
    return out


def augment(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training rows plus a copy with counts and profile flags unknown, so the weights also learn
    what the handle and the name alone say (one logistic model; unknown columns add nothing)."""
    return np.vstack([x, without(x, OPTIONAL_FEATURES)]), np.concatenate([y, y])


def fitted_weights() -> dict:
    train = [e for e in load_generated() if e.split == "train"]
    scorer = Scorer()
    x, _, _, _ = scorer.matrix([e.profile for e in train])
    y = np.array([e.label for e in train], dtype=np.float64)
    model = fit(*augment(x, y), l2=L2)
    # confidence weighs each feature by its typical influence on complete profiles, not on the copies
    model = dataclasses.replace(model, importance=np.abs(model.contributions(x)).mean(axis=0))
    data = model.to_json()
    data["meta"] = {
        "fitted_by": "components/scoring/eval/fit_weights.py",
        "training_split": "components/scoring/eval/data/generated.jsonl.gz (split == train)",
        "training_sha256": hashlib.sha256(GENERATED.read_bytes()).hexdigest(),
        "training_profiles": len(train),
        "training_fakes": int(y.sum()),
        "l2": L2,
        "augmentation": "training rows twice: as given, and with graph and completeness unknown",
    }
    return data


def render(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render(fitted_weights())
    if args.check:
        if not WEIGHTS.exists() or WEIGHTS.read_text() != text:
            print(f"{WEIGHTS} differs from a refit: run this script", file=sys.stderr)
            return 1
        print(f"{WEIGHTS} is up to date")
        return 0
    WEIGHTS.write_text(text)
    print(f"wrote {WEIGHTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
