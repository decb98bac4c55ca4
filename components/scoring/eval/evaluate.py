"""Evaluate the scorer on the test split: per script and overall, ablations, calibration, throughput.

Prints precision, recall, F1 and ROC AUC (fake = positive class, fake when p ≥ 0.5) overall, per
script of the full name, per profile kind and for the hand-written edge cases; the F1/AUC lost when
each feature is left out (weights refitted on the training split without it); calibration; and the
batch throughput on one core next to a baseline that only does exact names-DB look-ups, measured in
the same run. The last line is one JSON object:
``{"f1", "auc", "per_script_f1_min", "profiles_per_s", "ratio_to_exact_lookup_baseline"}``.

NOT a field dataset: see eval/README.md. Run: ``make eval-scoring``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dataset import Example, load_all
from fit_weights import OPTIONAL_FEATURES, augment, without

from barista_scoring.features import FEATURES
from barista_scoring.model import fit
from barista_scoring.namesdb import NamesDB, default_db
from barista_scoring.profile import Profile
from barista_scoring.scorer import Scorer
from barista_scoring.script import MATCHABLE_SCRIPTS


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied ranks averaged)."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    i = 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and sorted_p[j + 1] == sorted_p[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def prf(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> tuple[float, float, float]:
    predicted = p >= threshold
    tp = int((predicted & (y == 1)).sum())
    fp = int((predicted & (y == 0)).sum())
    fn = int((~predicted & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def row(label: str, y: np.ndarray, p: np.ndarray) -> str:
    precision, recall, f1 = prf(y, p)
    return (
        f"  {label:<22} n={len(y):>5} fake={int(y.sum()):>5}  precision={precision:.3f} recall={recall:.3f} "
        f"f1={f1:.3f} auc={roc_auc(y, p):.3f}"
    )


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> tuple[float, float]:
    """Brier score and expected calibration error."""
    brier = float(np.mean((p - y) ** 2))
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(float(p[mask].mean()) - float(y[mask].mean()))
    return brier, ece


# ---- throughput ----------------------------------------------------------------------------------------


def exact_lookup_baseline(db: NamesDB, profiles: Sequence[Profile]) -> Callable[[], int]:
    """The baseline: lower-case the name, split on spaces, look each word up in the names set."""
    records = db.records

    def run() -> int:
        known = 0
        for profile in profiles:
            for word in (profile.full_name or "").lower().split():
                if word in records:
                    known += 1
        return known

    return run


def ours(scorer: Scorer, profiles: Sequence[Profile], warm_up: Sequence[Profile]) -> Callable[[], int]:
    """Batch scoring (what the ClickHouse batch runs) of ``profiles``. Every cache is emptied first and,
    when ``warm_up`` is given, filled by scoring those (untimed: a batch job that has already scored
    other followers)."""

    def prepare() -> None:
        scorer.clear_caches()
        if warm_up:
            scorer.batch(warm_up)

    def run() -> int:
        return len(scorer.batch(profiles))

    run.prepare = prepare  # type: ignore[attr-defined]
    return run


def timed(fn: Callable[[], int], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        prepare = getattr(fn, "prepare", None)
        if prepare is not None:
            prepare()
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timing runs (medians are reported)")
    parser.add_argument("--no-ablation", action="store_true")
    args = parser.parse_args(argv)

    examples = load_all()
    train = [e for e in examples if e.split == "train"]
    test = [e for e in examples if e.split == "test"]
    db = default_db()
    scorer = Scorer(db)
    model = scorer.model
    x_test, _, _, _ = scorer.matrix([e.profile for e in test])
    y_test = np.array([e.label for e in test], dtype=np.float64)
    p_test = model.probabilities(x_test)

    print("Barista scoring evaluation: synthetic profiles (NOT a field dataset), test split")
    print(f"train {len(train)} profiles (generated); test {len(test)} profiles "
          f"({sum(e.source == 'generated' for e in test)} generated + {sum(e.source == 'edge' for e in test)} "
          "hand-written edge cases)")  # fmt: skip
    print("overall (fake = positive, p >= 0.5):")
    print(row("all", y_test, p_test))

    def subset(predicate: Callable[[Example], bool]) -> np.ndarray:
        return np.array([predicate(e) for e in test])

    print("per script of the full name:")
    per_script: dict[str, float] = {}
    for script in MATCHABLE_SCRIPTS:
        mask = subset(lambda e, s=script: e.script is s)
        if mask.any():
            print(row(script.value, y_test[mask], p_test[mask]))
            per_script[script.value] = prf(y_test[mask], p_test[mask])[2]
    mask = subset(lambda e: e.script.value in ("none", "other"))
    if mask.any():
        print(row("no readable name", y_test[mask], p_test[mask]) + "  (not in the per-script minimum)")

    print("per source:")
    for source in ("generated", "edge"):
        mask = subset(lambda e, s=source: e.source == s)
        print(row(source, y_test[mask], p_test[mask]))

    print("per generated kind (recall for fakes, share kept as real for reals):")
    kinds = sorted({e.kind for e in test if e.source == "generated"})
    for kind in kinds:
        mask = subset(lambda e, k=kind: e.source == "generated" and e.kind == k)
        label = int(y_test[mask][0])
        flagged = float((p_test[mask] >= 0.5).mean())
        what = f"flagged fake {flagged:.3f}" if label else f"kept real {1 - flagged:.3f}"
        print(f"  {kind:<22} n={int(mask.sum()):>5} {'fake' if label else 'real'}  {what}")

    brier, ece = calibration(y_test, p_test)
    print(f"calibration: Brier {brier:.4f}, expected calibration error {ece:.4f}")
    labels = [model.thresholds.label(float(p), 1.0) for p in p_test]
    counts = ", ".join(f"{lab.value} {labels.count(lab)}" for lab in dict.fromkeys(labels))
    print(f"labels (thresholds real < 0.35 <= suspicious < 0.65 <= fake): {counts}")

    x_partial = without(x_test, OPTIONAL_FEATURES)
    p_partial = model.probabilities(x_partial)
    print("handle + name only (counts, picture, bio, link, privacy unknown; same model):")
    print(row("all", y_test, p_partial))

    if not args.no_ablation:
        x_train, _, _, _ = scorer.matrix([e.profile for e in train])
        y_train = np.array([e.label for e in train], dtype=np.float64)
        full = (prf(y_test, p_test)[2], roc_auc(y_test, p_test), prf(y_test, p_partial)[2], roc_auc(y_test, p_partial))
        print("ablation (weights refitted without one feature; test F1 / AUC, full profiles | handle + name only):")
        for feature in FEATURES:
            m = fit(*augment(without(x_train, (feature,)), y_train))
            p = m.probabilities(without(x_test, (feature,)))
            q = m.probabilities(without(x_partial, (feature,)))
            scores = (prf(y_test, p)[2], roc_auc(y_test, p), prf(y_test, q)[2], roc_auc(y_test, q))
            cells = [
                f"{n}={v:.3f} ({v - f:+.3f})" for n, v, f in zip(("f1", "auc", "f1", "auc"), scores, full, strict=True)
            ]
            print(f"  without {feature:<17} {cells[0]}  {cells[1]}  |  {cells[2]}  {cells[3]}")

    # throughput: one core, batch mode; ours and the baseline alternate so both see the same machine load
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    profiles = [e.profile for e in test]
    warm_up = [e.profile for e in train]
    steady = ours(scorer, profiles, warm_up)
    cold = ours(scorer, profiles, [])
    base_run = exact_lookup_baseline(db, profiles)
    steady_times: list[float] = []
    cold_times: list[float] = []
    base_times: list[float] = []
    for _ in range(args.repeats):
        steady_times += timed(steady, 1)
        cold_times += timed(cold, 1)
        base_times += timed(base_run, 1)
    ours_rate = len(profiles) / statistics.median(steady_times)
    cold_rate = len(profiles) / statistics.median(cold_times)
    base_rate = len(profiles) / statistics.median(base_times)
    print(f"throughput (batch mode, one core, {len(profiles)} test profiles, median of {args.repeats}):")
    print(f"  ours, steady state (caches emptied, then warmed on the {len(warm_up)} training profiles): "
          f"{ours_rate:,.0f} profiles/s")  # fmt: skip
    print(f"  ours, cold (every cache empty): {cold_rate:,.0f} profiles/s")
    print(f"  exact names-DB lookup baseline: {base_rate:,.0f} profiles/s")

    f1 = prf(y_test, p_test)[2]
    summary = {
        "f1": round(f1, 4),
        "auc": round(roc_auc(y_test, p_test), 4),
        "per_script_f1_min": round(min(per_script.values()), 4),
        "profiles_per_s": round(ours_rate),
        "ratio_to_exact_lookup_baseline": round(ours_rate / base_rate, 4),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
