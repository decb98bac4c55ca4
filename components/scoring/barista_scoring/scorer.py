"""Scoring profiles: the model's columns per profile (pure Python, names cached), the ensemble over a batch
(numpy), the reasons on top.

Both ways of scoring share one function for the model's inputs (:func:`~barista_scoring.features.model_row`,
so they cannot disagree): :meth:`Scorer.batch` (the ClickHouse batch and the evaluation) writes only
the reason of each profile's decisive feature; :meth:`Scorer.score_many` (the API and the CLI) adds
every feature's value, contribution and reason. Names repeat heavily in follower lists, so each
distinct full name is read, romanised and looked up once per scorer (bounded cache); handles are read
per profile.
"""

from __future__ import annotations

import struct
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import starmap

import numpy as np

from barista_scoring.features import (
    COLUMNS,
    FEATURES,
    BigramModel,
    FeatureResult,
    HandleInfo,
    NameAnalysis,
    analyse_name,
    availability,
    completeness,
    graph_ratios,
    graph_reason,
    handle_gibberish,
    handle_pattern,
    handle_pattern_reason,
    model_row,
    name_handle_agreement,
    names_db_match,
    read_handle,
)
from barista_scoring.model import Label, Model
from barista_scoring.namesdb import NamesDB, default_db
from barista_scoring.profile import Profile
from barista_scoring.script import Script

N_COLUMNS = sum(len(c) for c in COLUMNS.values())
#: One model row as doubles in the machine's byte order (numpy's float64).
_ROW = struct.Struct(f"{N_COLUMNS}d")
_NAME_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    #: The feature's value (see barista_scoring.features), None when its inputs were missing.
    value: float | None
    #: Effect on the log-odds of fake: positive pushes towards fake, negative towards real.
    contribution: float
    reason: str


@dataclass(frozen=True, slots=True)
class Score:
    handle: str
    id: str | None
    probability: float
    label: Label
    confidence: float
    #: Script of the full name (latin, devanagari, …; none when there is no readable name).
    script: Script
    #: Every feature, largest effect first.
    contributions: tuple[Contribution, ...]

    @property
    def top_reason(self) -> str:
        """The reason of the feature that pushed most towards this profile's side."""
        towards_fake = self.probability >= 0.5
        ranked = [c for c in self.contributions if (c.contribution > 0) == towards_fake and c.contribution != 0]
        return ranked[0].reason if ranked else (self.contributions[0].reason if self.contributions else "")


class Scorer:
    """Scores profiles with a names DB and a fitted model (both loaded once per process by default)."""

    def __init__(self, db: NamesDB | None = None, model: Model | None = None) -> None:
        self.db = db if db is not None else default_db()
        self._model = model
        self.bigrams = _bigrams_for(self.db)
        self._names: dict[str, NameAnalysis] = {}

    @property
    def model(self) -> Model:
        """The fitted ensemble (the packaged ``data/weights.json`` unless one was given)."""
        if self._model is None:
            self._model = Model.load()
        return self._model

    def clear_caches(self) -> None:
        """Forget every cached name, token and handle word (this scorer's and the process-wide ones)."""
        from barista_scoring import names, romanise

        self._names.clear()
        self.db.clear_cache()
        self.bigrams.word_bits.cache_clear()
        romanise.clear_caches()
        names.clear_caches()

    def analyse_name(self, full_name: str) -> NameAnalysis:
        hit = self._names.get(full_name)
        if hit is None:
            hit = analyse_name(full_name, self.db)
            if len(self._names) >= _NAME_CACHE_LIMIT:
                self._names.clear()
            self._names[full_name] = hit
        return hit

    def features(self, profile: Profile) -> tuple[tuple[FeatureResult, ...], Script]:
        """Every feature of one profile, in FEATURES order, and the script of its name."""
        handle = read_handle(profile.handle)
        name = self.analyse_name(profile.full_name) if profile.full_name is not None else None
        return self._results(profile, name, handle), (name.reading.script if name is not None else Script.NONE)

    def _results(self, profile: Profile, name: NameAnalysis | None, handle: HandleInfo) -> tuple[FeatureResult, ...]:
        return (
            name_handle_agreement(name, handle),
            names_db_match(name),
            handle_pattern(handle),
            handle_gibberish(handle, self.bigrams),
            graph_ratios(profile.follower_count, profile.following_count, profile.post_count),
            completeness(profile),
        )

    def _reason(self, j: int, profile: Profile, name: NameAnalysis | None, handle: HandleInfo) -> str:
        """The reason of feature ``j`` (an index into FEATURES) alone."""
        if j == 4:
            return graph_reason(profile.follower_count, profile.following_count, profile.post_count)
        if j == 2:
            return handle_pattern_reason(handle)
        if j == 0:
            return name_handle_agreement(name, handle).reason
        if j == 1:
            return names_db_match(name).reason
        if j == 3:
            return handle_gibberish(handle, self.bigrams).reason
        return completeness(profile).reason

    def rows(self, profiles: Sequence[Profile]) -> tuple[np.ndarray, list[NameAnalysis | None], list[HandleInfo]]:
        """The model's inputs (n x columns; ``nan`` = unknown), with each profile's name analysis and handle."""
        handles = [read_handle(profile.handle) for profile in profiles]
        names: list[NameAnalysis | None] = []
        cache = self._names
        for profile in profiles:
            full_name = profile.full_name
            if full_name is None:
                names.append(None)
            else:
                name = cache.get(full_name)
                names.append(name if name is not None else self.analyse_name(full_name))
        bits = self.bigrams.bits_per_letter_many([handle.words for handle in handles])
        # each row packed as doubles in one C call: a third of the cost of np.fromiter's float-by-float path
        packed = bytearray().join(starmap(_ROW.pack, map(model_row, profiles, names, handles, bits)))
        return np.frombuffer(packed, np.float64).reshape(len(profiles), N_COLUMNS), names, handles

    def matrix(
        self, profiles: Sequence[Profile]
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[FeatureResult, ...]], list[Script]]:
        """Model inputs (n x columns), feature availability (n x features), every result and the scripts."""
        x, names, handles = self.rows(profiles)
        results = [self._results(p, n, h) for p, n, h in zip(profiles, names, handles, strict=True)]
        return x, availability(x), results, _scripts(names)

    def batch(self, profiles: Sequence[Profile]) -> BatchScores:
        """Score many profiles at once: arrays for the probabilities, labels and contributions, and the
        reason of each profile's decisive feature (what the ClickHouse batch writes).

        The model's inputs come from :meth:`rows` (one pass over the profiles, no reasons); the ensemble
        runs over the whole batch in numpy; then only the decisive feature's reason is written.
        """
        x, names, handles = self.rows(profiles)
        model = self.model
        contributions, probabilities = model.contributions_and_probabilities(x)
        confidences = model.confidence(availability(x))
        labels = model.thresholds.labels(probabilities, confidences)
        towards_fake = probabilities >= model.thresholds.decision
        decisive = np.where(towards_fake, contributions.argmax(axis=1), contributions.argmin(axis=1))
        reason = self._reason
        reasons = [reason(j, p, n, h) for j, p, n, h in zip(decisive.tolist(), profiles, names, handles, strict=True)]
        return BatchScores(probabilities, confidences, labels, contributions, decisive, reasons, _scripts(names))

    def score_many(self, profiles: Sequence[Profile]) -> list[Score]:
        """Score profiles with every feature's value, contribution and reason (the API's answer)."""
        if not profiles:
            return []
        x, available, all_results, scripts = self.matrix(profiles)
        model = self.model
        contributions, probabilities = model.contributions_and_probabilities(x)
        confidences = model.confidence(available)
        labels = model.thresholds.labels(probabilities, confidences)
        scores: list[Score] = []
        for i, profile in enumerate(profiles):
            row = contributions[i]
            results = all_results[i]
            order = sorted(range(len(FEATURES)), key=lambda j, r=row: -abs(r[j]))
            scores.append(
                Score(
                    handle=profile.handle,
                    id=profile.id,
                    probability=float(probabilities[i]),
                    label=labels[i],
                    confidence=float(confidences[i]),
                    script=scripts[i],
                    contributions=tuple(
                        Contribution(FEATURES[j], results[j].value, float(row[j]), results[j].reason) for j in order
                    ),
                )
            )
        return scores

    def score(self, profile: Profile) -> Score:
        return self.score_many([profile])[0]


@dataclass(frozen=True, slots=True)
class BatchScores:
    probabilities: np.ndarray
    confidences: np.ndarray
    labels: list[Label]
    #: Per-feature contributions to the logit, n x len(FEATURES).
    contributions: np.ndarray
    #: Index (into FEATURES) of the feature that pushed each profile most towards its side.
    decisive: np.ndarray
    #: That feature's reason, per profile.
    reasons: list[str]
    scripts: list[Script]

    def __len__(self) -> int:
        return len(self.reasons)


def _scripts(names: list[NameAnalysis | None]) -> list[Script]:
    return [Script.NONE if name is None else name.reading.script for name in names]


_bigram_models: weakref.WeakKeyDictionary[NamesDB, BigramModel] = weakref.WeakKeyDictionary()


def _bigrams_for(db: NamesDB) -> BigramModel:
    model = _bigram_models.get(db)
    if model is None:
        model = _bigram_models[db] = BigramModel(db.records)
    return model


_default: Scorer | None = None


def default_scorer() -> Scorer:
    """One scorer per process (the names DB and the model load once, ~1 s)."""
    global _default
    if _default is None:
        _default = Scorer()
    return _default
