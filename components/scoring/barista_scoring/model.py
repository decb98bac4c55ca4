"""The ensemble: a logistic regression over the features' columns, explainable per feature.

Each column is standardised with the training split's mean and spread; an unknown column (``nan``)
becomes 0, the training mean, so it adds nothing either way. The logit is ``intercept + Σ w·z`` and a
feature's contribution is the sum of ``w·z`` over its columns (in logits: +1 multiplies the odds of
fake by e ≈ 2.7). Weights are fitted by ``eval/fit_weights.py`` on the training split (Newton's method
with an L2 penalty, numpy only) and committed as ``data/weights.json``.

Labels (documented thresholds on the probability of fake ``p``):

* ``real`` when p < 0.35, ``fake`` when p ≥ 0.65, ``suspicious`` in between;
* a profile whose confidence is below 0.4 (too many unknown fields) is at most ``suspicious``;
* metrics (precision/recall/F1) count p ≥ 0.5 as a fake.

Confidence is the share of the features' typical influence (mean |contribution| on the training
split) that this profile's known inputs carry: 1.0 with every field, less as fields go missing.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from barista_scoring.features import COLUMNS, FEATURES

FloatArray = npt.NDArray[np.float64]


class Label(StrEnum):
    REAL = "real"
    SUSPICIOUS = "suspicious"
    FAKE = "fake"


@dataclass(frozen=True, slots=True)
class Thresholds:
    suspicious: float = 0.35
    fake: float = 0.65
    decision: float = 0.5
    min_confidence: float = 0.4

    def label(self, probability: float, confidence: float) -> Label:
        if probability >= self.fake:
            label = Label.FAKE
        elif probability >= self.suspicious:
            label = Label.SUSPICIOUS
        else:
            label = Label.REAL
        if confidence < self.min_confidence:
            return Label.SUSPICIOUS
        return label

    def labels(self, probabilities: FloatArray, confidences: FloatArray) -> list[Label]:
        codes = np.where(probabilities >= self.fake, 2, np.where(probabilities >= self.suspicious, 1, 0))
        codes = np.where(confidences < self.min_confidence, 1, codes)
        table = (Label.REAL, Label.SUSPICIOUS, Label.FAKE)
        return [table[c] for c in codes.tolist()]


#: Directions fixed by domain knowledge, so that every explanation reads the right way round
#: ("the handle spells the name" never counts towards fake). Unlisted columns are free.
EXPECTED_SIGNS: dict[str, int] = {
    "name_handle.similarity": -1,
    "name_handle.mismatch_known_name": +1,
    "names_db.first_known": -1,
    "names_db.surname_known": -1,
    "names_db.no_readable_name": +1,
    "handle_pattern.digit_run": +1,
    "handle_pattern.bot_template": +1,
    "handle_gibberish.bits_per_letter": +1,
    "graph.log_ratio": -1,
    "graph.near_cap": +1,
    "completeness.picture": -1,
    "completeness.verified": -1,
}


def column_names() -> list[str]:
    return [f"{feature}.{column}" for feature in FEATURES for column in COLUMNS[feature]]


#: Index (into FEATURES) of each model column's feature.
_FEATURE_OF_COLUMN = tuple(i for i, feature in enumerate(FEATURES) for _ in COLUMNS[feature])


@dataclass(frozen=True)
class Model:
    mean: FloatArray
    scale: FloatArray
    weights: FloatArray
    intercept: float
    #: Mean |contribution| per feature on the training split (for confidence), in FEATURES order.
    importance: FloatArray
    thresholds: Thresholds = field(default_factory=Thresholds)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k = len(column_names())
        if not (self.mean.shape == self.scale.shape == self.weights.shape == (k,)):
            raise ValueError(f"model has the wrong number of columns (want {k}): refit with eval/fit_weights.py")

    # -- scoring ---------------------------------------------------------------------------------------

    def standardise(self, x: FloatArray) -> FloatArray:
        z = (x - self.mean) / self.scale
        return np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)

    def contributions(self, x: FloatArray) -> FloatArray:
        """Per-feature contributions to the logit, shape (n, len(FEATURES))."""
        return self._contributions(self.standardise(x))

    def probabilities(self, x: FloatArray) -> FloatArray:
        return self._probabilities(self.standardise(x))

    def contributions_and_probabilities(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """:meth:`contributions` and :meth:`probabilities` of ``x``, standardising it once."""
        z = self.standardise(x)
        return self._contributions(z), self._probabilities(z)

    def _contributions(self, z: FloatArray) -> FloatArray:
        weighted = z * self.weights
        out = np.zeros((z.shape[0], len(FEATURES)))
        for column, feature in enumerate(_FEATURE_OF_COLUMN):  # left to right: the same sums every time
            out[:, feature] += weighted[:, column]
        return out

    def _probabilities(self, z: FloatArray) -> FloatArray:
        logit = self.intercept + z @ self.weights
        return 1.0 / (1.0 + np.exp(-logit))

    def confidence(self, available: npt.NDArray[np.bool_]) -> FloatArray:
        """Share of typical influence carried by the available features, shape (n,)."""
        total = float(self.importance.sum()) or 1.0
        return (available @ self.importance) / total

    # -- persistence -----------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        names = column_names()
        return {
            "format": 1,
            "columns": names,
            "intercept": round(self.intercept, 6),
            "weights": dict(zip(names, np.round(self.weights, 6).tolist(), strict=True)),
            "mean": dict(zip(names, np.round(self.mean, 6).tolist(), strict=True)),
            "scale": dict(zip(names, np.round(self.scale, 6).tolist(), strict=True)),
            "importance": dict(zip(FEATURES, np.round(self.importance, 6).tolist(), strict=True)),
            "thresholds": {
                "suspicious": self.thresholds.suspicious,
                "fake": self.thresholds.fake,
                "decision": self.thresholds.decision,
                "min_confidence": self.thresholds.min_confidence,
            },
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        names = column_names()
        if data.get("columns") != names:
            raise ValueError("weights.json columns differ from the features: refit with eval/fit_weights.py")
        return cls(
            mean=np.array([data["mean"][n] for n in names], dtype=np.float64),
            scale=np.array([data["scale"][n] for n in names], dtype=np.float64),
            weights=np.array([data["weights"][n] for n in names], dtype=np.float64),
            intercept=float(data["intercept"]),
            importance=np.array([data["importance"][f] for f in FEATURES], dtype=np.float64),
            thresholds=Thresholds(**data.get("thresholds", {})),
            meta=data.get("meta", {}),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> Model:
        if path is None:
            text = resources.files("barista_scoring").joinpath("data/weights.json").read_text()
        else:
            text = path.read_text()
        return cls.from_json(json.loads(text))


def fit(x: FloatArray, y: FloatArray, *, l2: float = 1.0, iterations: int = 50) -> Model:
    """Fit the logistic ensemble on ``x`` (n x columns, nan = unknown) and labels ``y`` (1 = fake).

    Newton's method on the L2-penalised log-likelihood (the intercept is not penalised). Columns in
    :data:`EXPECTED_SIGNS` whose fitted weight comes out the wrong way round are pinned to 0 and the
    rest refitted (an active-set loop), so every contribution points the documented way.
    """
    k = x.shape[1]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan columns (an ablated feature)
        mean = np.nanmean(x, axis=0)
        scale = np.nanstd(x, axis=0)
    mean = np.where(np.isnan(mean), 0.0, mean)
    scale = np.where((scale < 1e-9) | np.isnan(scale), 1.0, scale)
    z = np.nan_to_num((x - mean) / scale, nan=0.0)
    names = column_names()
    signs = np.array([EXPECTED_SIGNS.get(name, 0) for name in names])
    active = np.ones(k, dtype=bool)
    while True:
        beta = _newton(z[:, active], y, l2=l2, iterations=iterations)
        weights = np.zeros(k)
        weights[active] = beta[1:]
        wrong = active & (signs != 0) & (np.sign(weights) == -signs) & (weights != 0)
        if not wrong.any():
            break
        active &= ~wrong
    model = Model(mean=mean, scale=scale, weights=weights, intercept=float(beta[0]), importance=np.ones(len(FEATURES)))
    importance = np.abs(model.contributions(x)).mean(axis=0)
    return Model(mean=mean, scale=scale, weights=weights, intercept=float(beta[0]), importance=importance)


def _newton(z: FloatArray, y: FloatArray, *, l2: float, iterations: int) -> FloatArray:
    n, k = z.shape
    design = np.hstack([np.ones((n, 1)), z])
    beta = np.zeros(k + 1)
    penalty = np.full(k + 1, l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (p - y) + penalty * beta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return beta
