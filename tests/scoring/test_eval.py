"""The evaluation set and the committed weights."""

from __future__ import annotations

import json
from collections import Counter

from barista_scoring.script import MATCHABLE_SCRIPTS


def test_eval_set_covers_every_script_and_has_hand_written_edge_cases(eval_modules) -> None:
    from dataset import load_edge_cases, load_generated

    generated = load_generated()
    edges = load_edge_cases()
    assert len(edges) >= 200
    assert {e.split for e in edges} == {"test"}
    assert Counter(e.label for e in edges).keys() == {0, 1}
    for split in ("train", "test"):
        scripts = {e.script for e in generated + edges if e.split == split}
        assert set(MATCHABLE_SCRIPTS) <= scripts, split
    ids = Counter(e.profile.id for e in generated + edges)
    assert max(ids.values()) == 1
    train = {e.profile.id for e in generated if e.split == "train"}
    test = {e.profile.id for e in generated if e.split == "test"}
    assert train and test and not train & test


def test_committed_weights_are_the_fit_of_the_training_split(eval_modules) -> None:
    import fit_weights

    assert fit_weights.render(fit_weights.fitted_weights()) == fit_weights.WEIGHTS.read_text()
    meta = json.loads(fit_weights.WEIGHTS.read_text())["meta"]
    assert meta["training_profiles"] > 5_000
