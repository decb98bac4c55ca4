"""Bad input: missing fields, wrong types, huge names, emoji-only and mixed-script names."""

from __future__ import annotations

import pytest

from barista_scoring import ProfileError, parse_profile
from barista_scoring.model import Label
from barista_scoring.names import MAX_NAME_CHARS, read_name
from barista_scoring.profile import Profile
from barista_scoring.scorer import Scorer


def test_only_a_handle_scores_with_low_confidence(scorer: Scorer) -> None:
    score = scorer.score(parse_profile({"handle": "sneha123"}))
    assert 0.0 <= score.probability <= 1.0
    assert score.confidence < 0.5
    unknown = [c for c in score.contributions if c.value is None]
    assert {c.feature for c in unknown} == {"name_handle", "names_db", "graph", "completeness"}
    assert all(c.contribution == 0.0 for c in unknown)  # unknown inputs count neither way


def test_too_little_known_is_at_most_suspicious(scorer: Scorer) -> None:
    score = scorer.score(Profile("83746251"))  # a handle of digits and nothing else
    assert score.probability > 0.65
    assert score.confidence < scorer.model.thresholds.min_confidence
    assert score.label is Label.SUSPICIOUS


def test_missing_fields_lower_confidence_step_by_step(scorer: Scorer) -> None:
    full = Profile("priya.sharma", "Priya Sharma", "Delhi", 520, 480, 90, True, False, False, "")
    no_counts = Profile("priya.sharma", "Priya Sharma", "Delhi", None, None, None, True, False, False, "")
    bare = Profile("priya.sharma", "Priya Sharma")
    confidences = [scorer.score(p).confidence for p in (full, no_counts, bare)]
    assert confidences[0] == 1.0 and confidences[0] > confidences[1] > confidences[2] > 0


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, "handle: Field required"),
        ({"handle": ""}, "handle: String should have at least 1 character"),
        ({"handle": 5}, "handle: Input should be a valid string"),
        ({"handle": "a", "follower_count": "12"}, "follower_count: Input should be a valid integer"),
        ({"handle": "a", "follower_count": -1}, "follower_count: Input should be greater than or equal to 0"),
        ({"handle": "a", "has_profile_pic": "yes"}, "has_profile_pic: Input should be a valid boolean"),
        ({"handle": "a", "full_name": "x" * 10_000_000}, "full_name: String should have at most 256 characters"),
        ({"handle": "a", "followers": 3}, "followers: Extra inputs are not permitted"),
        ([1, 2], "Input should be a valid dictionary"),
    ],
)
def test_wrong_input_is_refused_with_the_field_named(data: object, problem: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile(data)
    assert problem in str(caught.value)


def test_ten_megabyte_name_given_to_the_scorer_directly_is_cut(scorer: Scorer) -> None:
    huge = "Suresh " * (10 * 1024 * 1024 // 7)
    reading = read_name(huge)
    assert reading.truncated and len(reading.text) == MAX_NAME_CHARS
    score = scorer.score(Profile("suresh_kumar", huge, None, 300, 280, 20, True, False, False, ""))
    assert 0.0 <= score.probability <= 1.0


@pytest.mark.parametrize("name", ["😀🔥", "❤️❤️❤️", "🇮🇳", "✨✨ 123 ✨✨", "   ", "..."])
def test_emoji_only_names_score_without_a_readable_name(scorer: Scorer, name: str) -> None:
    score = scorer.score(Profile("lovely.girl.9837", name, "", 12, 5000, 0, True, False, False, ""))
    names_db = next(c for c in score.contributions if c.feature == "names_db")
    assert names_db.value == 0.0 and ("no letters" in names_db.reason or "empty" in names_db.reason)
    assert score.label is Label.FAKE


@pytest.mark.parametrize("name", ["प्रिया Sharma", "Arjun മേനോൻ", "رضا Khan", "சுரேஷ்Kumar", "Иван Kumar"])
def test_mixed_script_names_are_read_word_by_word(scorer: Scorer, name: str) -> None:
    score = scorer.score(Profile("someone_here", name, "", 300, 280, 20, True, False, False, ""))
    assert 0.0 <= score.probability <= 1.0
    assert read_name(name).tokens, name


def test_odd_handles_do_not_crash(scorer: Scorer) -> None:
    for handle in ["💯💯", "@", "____x____", "ÀÉÎ", "a" * 100, "user\u200b123"]:
        score = scorer.score(Profile(handle, "Priya"))
        assert 0.0 <= score.probability <= 1.0
