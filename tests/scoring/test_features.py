"""One test group per feature: the value, the reason and the model columns."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barista_scoring.features import (
    _ANY_TEMPLATE,
    _GENERIC_WORDS,
    _TEMPLATE_LABELS,
    COLUMNS,
    analyse_name,
    completeness,
    graph_ratios,
    handle_gibberish,
    handle_pattern,
    name_handle_agreement,
    names_db_match,
    read_handle,
)
from barista_scoring.profile import Profile
from barista_scoring.scorer import Scorer

# -- name_handle ---------------------------------------------------------------------------------------


def test_name_handle_match_and_mismatch(scorer: Scorer) -> None:
    match = name_handle_agreement(analyse_name("Priya Sharma", scorer.db), read_handle("priya.sharma"))
    assert match.value == 1.0 and "contains 'priya'" in match.reason
    mismatch = name_handle_agreement(analyse_name("Priya Sharma", scorer.db), read_handle("rahul.k83746"))
    assert mismatch.value is not None and mismatch.value < 0.5
    assert "shares nothing" in mismatch.reason
    assert mismatch.columns[1] > 0.5  # a real-looking name on an unrelated handle


def test_name_handle_initial_and_surname(scorer: Scorer) -> None:
    result = name_handle_agreement(analyse_name("Praveen Kumar Sharma", scorer.db), read_handle("pk_sharma"))
    assert result.value == 1.0


def test_name_handle_without_a_name_is_unknown(scorer: Scorer) -> None:
    assert name_handle_agreement(None, read_handle("someone")).value is None
    emoji = name_handle_agreement(analyse_name("😀🔥", scorer.db), read_handle("someone"))
    assert emoji.value is None and all(math.isnan(c) for c in emoji.columns)


def test_name_handle_digits_only_handle(scorer: Scorer) -> None:
    result = name_handle_agreement(analyse_name("Priya", scorer.db), read_handle("12345678"))
    assert result.value == 0.0 and "no letters" in result.reason


# -- names_db -----------------------------------------------------------------------------------------


def test_names_db_known_and_unknown(scorer: Scorer) -> None:
    known = names_db_match(analyse_name("सुरेश कुमार", scorer.db))
    assert known.value == 1.0 and "'suresh' is a known first name" in known.reason
    unknown = names_db_match(analyse_name("Xkqzv Wplmt", scorer.db))
    assert unknown.value == 0.0 and "not a known" in unknown.reason
    assert len(known.columns) == len(COLUMNS["names_db"])


def test_names_db_empty_and_missing_names(scorer: Scorer) -> None:
    empty = names_db_match(analyse_name("", scorer.db))
    assert empty.value == 0.0 and empty.columns[-1] == 1.0 and "empty" in empty.reason
    assert names_db_match(None).value is None


# -- handle_pattern ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "handle", ["user83746251", "zt908172635", "a1b2c3d4e5", "12345678", "nidhi_8374652", "ig_88172635"]
)
def test_bot_templates(handle: str) -> None:
    result = handle_pattern(read_handle(handle))
    assert result.columns[2] == 1.0 and result.value == 1.0
    assert result.reason.startswith("handle is ")


@pytest.mark.parametrize(
    "handle",
    ["user123", "ig_99", "usr.007_", "ab123456", "ab12345.", "a1b2c3", "a1b2c", "a1.b2c3d4", "._", "19.85", "x_1"],
)
def test_template_pre_check_agrees_with_the_templates(handle: str) -> None:
    # read_handle runs the template regex only for handles that could match it: near misses included
    found = _ANY_TEMPLATE.match(handle)
    expected = _TEMPLATE_LABELS[found.lastgroup] if found is not None and found.lastgroup else None
    assert read_handle(handle).template == expected


_HANDLE_PIECES = st.one_of(
    st.sampled_from(_GENERIC_WORDS),
    st.text("abcxyz", min_size=1, max_size=4),
    st.text("0123456789", min_size=1, max_size=8),
    st.sampled_from(("", ".", "_", "..")),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_HANDLE_PIECES, max_size=8).map("".join))
def test_template_pre_check_never_misses_a_template(handle: str) -> None:
    expected = None
    text = handle.strip().lstrip("@").lower()
    found = _ANY_TEMPLATE.match(text)
    if found is not None and found.lastgroup:
        expected = _TEMPLATE_LABELS[found.lastgroup]
    assert read_handle(handle).template == expected


def test_long_digit_run_without_a_template() -> None:
    result = handle_pattern(read_handle("rahul.k83746"))
    assert result.columns[2] == 0.0 and result.value == 0.5 and "5-digit run" in result.reason


@pytest.mark.parametrize("handle", ["suresh_kumar_92", "amit.singh.1988", "priya.sharma", "kiran_____"])
def test_people_handles_look_human(handle: str) -> None:
    result = handle_pattern(read_handle(handle))
    assert result.columns[2] == 0.0
    assert result.value is not None and result.value <= 0.2


def test_year_suffix_and_digit_columns() -> None:
    result = handle_pattern(read_handle("suresh_kumar_92"))
    digit_share, digit_run, template, year, switches, _length = result.columns
    assert year == 1.0 and template == 0.0 and "year-like '92'" in result.reason
    assert digit_share == pytest.approx(2 / 15) and digit_run == 0.2 and switches == 0.0


# -- handle_gibberish ----------------------------------------------------------------------------------


def test_gibberish_separates_random_letters_from_names(scorer: Scorer) -> None:
    random_letters = handle_gibberish(read_handle("xkqzvbwt"), scorer.bigrams)
    name_like = handle_gibberish(read_handle("priya.sharma"), scorer.bigrams)
    assert random_letters.value is not None and name_like.value is not None
    assert random_letters.value > name_like.value + 1.0
    assert "random" in random_letters.reason and "like names" in name_like.reason
    assert handle_gibberish(read_handle("ab12"), scorer.bigrams).value is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=100), max_size=6), max_size=30))
def test_gibberish_of_a_batch_is_the_same_floats_as_one_by_one(scorer: Scorer, word_lists: list[list[str]]) -> None:
    many = scorer.bigrams.bits_per_letter_many(word_lists)
    one_by_one = [scorer.bigrams.bits_per_letter(words) for words in word_lists]
    assert [repr(x) for x in many] == [repr(x) for x in one_by_one]  # repr: nan == nan, and the exact float


# -- graph -------------------------------------------------------------------------------------------


def test_graph_ratios_near_cap() -> None:
    result = graph_ratios(3, 7_400, 0)
    _followers, _following, ratio, near_cap, _posts, no_posts = result.columns
    assert near_cap == pytest.approx(0.96) and no_posts == 1.0 and ratio < -3
    assert "near the 7,500 cap" in result.reason


def test_graph_ratios_ordinary_user_and_unknowns() -> None:
    ordinary = graph_ratios(400, 350, 60)
    assert ordinary.value is not None and ordinary.value > 0 and ordinary.columns[3] == 0.0
    assert graph_ratios(None, None, None).value is None
    partial = graph_ratios(None, 300, 5)
    assert (
        partial.value is None and math.isnan(partial.columns[0]) and partial.columns[4] == pytest.approx(math.log10(6))
    )


# -- completeness ----------------------------------------------------------------------------------------


def test_completeness_known_and_unknown() -> None:
    full = completeness(Profile("x", biography="Chennai", has_profile_pic=True, external_url="https://a.example",
                                is_private=False, is_verified=True))  # fmt: skip
    assert full.value == 1.0 and full.columns == (1.0, 1.0, 1.0, 0.0, 1.0) and "verified" in full.reason
    bare = completeness(Profile("x", biography="  ", has_profile_pic=False, external_url=""))
    assert bare.value == 0.0 and "no picture" in bare.reason and "no biography" in bare.reason
    assert completeness(Profile("x")).value is None
