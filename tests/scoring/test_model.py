"""The ensemble: fitting, sign constraints, persistence, labels, stability of scores."""

from __future__ import annotations

import numpy as np

from barista_scoring.features import FEATURES
from barista_scoring.model import EXPECTED_SIGNS, Label, Model, Thresholds, column_names, fit
from barista_scoring.profile import Profile
from barista_scoring.scorer import Scorer

PEOPLE = [
    Profile("suresh_kumar_92", "சுரேஷ் குமார்", "Chennai", 412, 380, 57, True, False, False, ""),
    Profile("priya.sharma", "प्रिया शर्मा", "", 520, 480, 90, True, True, False, ""),
]
BOTS = [
    Profile("user83746251", "", "", 3, 7120, 0, False, False, False, ""),
    Profile("xkqzvbwt8372", "Xkqzv", "", 0, 3100, 0, False, False, False, ""),
]


def test_fit_learns_a_signal_and_keeps_documented_signs() -> None:
    rng = np.random.default_rng(7)
    n, k = 4_000, len(column_names())
    x = rng.normal(size=(n, k))
    names = column_names()
    digit_run = names.index("handle_pattern.digit_run")
    similarity = names.index("name_handle.similarity")
    logit = 2.0 * x[:, digit_run] + 1.0 * x[:, similarity]  # similarity pushes towards fake here...
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    x[rng.random((n, k)) < 0.05] = np.nan
    model = fit(x, y)
    assert model.weights[digit_run] > 1.0
    assert model.weights[similarity] == 0.0  # ...but its documented direction is towards real: pinned to 0
    for name, sign in EXPECTED_SIGNS.items():
        assert np.sign(model.weights[names.index(name)]) in (0, sign)


def test_model_round_trips_through_json(scorer: Scorer) -> None:
    again = Model.from_json(scorer.model.to_json())
    assert np.array_equal(again.weights, scorer.model.weights)
    assert again.intercept == scorer.model.intercept and again.thresholds == scorer.model.thresholds


def test_committed_weights_keep_the_documented_signs(scorer: Scorer) -> None:
    names = column_names()
    for name, sign in EXPECTED_SIGNS.items():
        assert np.sign(scorer.model.weights[names.index(name)]) in (0, sign), name


def test_thresholds_and_confidence_cap() -> None:
    t = Thresholds()
    assert t.label(0.1, 1.0) is Label.REAL
    assert t.label(0.5, 1.0) is Label.SUSPICIOUS
    assert t.label(0.9, 1.0) is Label.FAKE
    assert t.label(0.9, 0.2) is Label.SUSPICIOUS
    codes = t.labels(np.array([0.1, 0.5, 0.9, 0.9]), np.array([1.0, 1.0, 1.0, 0.2]))
    assert codes == [Label.REAL, Label.SUSPICIOUS, Label.FAKE, Label.SUSPICIOUS]


def test_people_score_real_and_bots_fake(scorer: Scorer) -> None:
    scores = scorer.score_many(PEOPLE + BOTS)
    assert [s.label for s in scores] == [Label.REAL, Label.REAL, Label.FAKE, Label.FAKE]
    for s in scores:
        assert s.confidence == 1.0
        assert [c.feature for c in s.contributions] != [] and {c.feature for c in s.contributions} == set(FEATURES)
        total = scorer.model.intercept + sum(c.contribution for c in s.contributions)
        assert abs(1 / (1 + np.exp(-total)) - s.probability) < 1e-9  # contributions add up to the probability


def test_output_is_stable_for_a_fixed_input(scorer: Scorer) -> None:
    alone = scorer.score(BOTS[0])
    in_batch = scorer.score_many([*PEOPLE, BOTS[0], *BOTS])[2]
    fresh = Scorer(scorer.db, scorer.model).score(BOTS[0])
    assert alone == in_batch == fresh


def test_batch_path_equals_the_explained_path(scorer: Scorer, eval_modules) -> None:
    from dataset import load_edge_cases

    profiles = [e.profile for e in load_edge_cases()]
    explained = scorer.score_many(profiles)
    batch = scorer.batch(profiles)
    assert np.allclose(batch.probabilities, [s.probability for s in explained], atol=0, rtol=0)
    assert batch.labels == [s.label for s in explained]
    assert batch.reasons == [s.top_reason for s in explained]
