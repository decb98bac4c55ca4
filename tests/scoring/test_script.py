from __future__ import annotations

import pytest

from barista_scoring.names import read_name, split_words
from barista_scoring.script import Script, char_script, dominant_script


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("Suresh", Script.LATIN),
        ("सुरेश", Script.DEVANAGARI),
        ("সৌরভ", Script.BENGALI),
        ("ਗੁਰਪ੍ਰੀਤ", Script.GURMUKHI),
        ("હિરેન", Script.GUJARATI),
        ("ଜଗନ୍ନାଥ", Script.ORIYA),
        ("சுரேஷ்", Script.TAMIL),
        ("రమేష్", Script.TELUGU),
        ("ರಮೇಶ್", Script.KANNADA),
        ("സുരേഷ്", Script.MALAYALAM),
        ("عمران", Script.URDU),
        ("Иван", Script.OTHER),
        ("😀🔥 123", Script.NONE),
        ("", Script.NONE),
    ],
)
def test_dominant_script(text: str, script: Script) -> None:
    assert dominant_script(text) is script


def test_digits_and_punctuation_have_no_script() -> None:
    assert {char_script(c) for c in "0123456789 _.-!?،"} == {Script.NONE}


def test_words_split_by_script_space_and_emoji() -> None:
    assert split_words("प्रिया✨Sharma 92") == [("प्रिया", Script.DEVANAGARI), ("Sharma", Script.LATIN)]


def test_mixed_script_name_reads_every_word() -> None:
    reading = read_name("రవి Teja")
    assert reading.mixed
    assert [t.variants[0] for t in reading.tokens] == ["ravi", "teja"]


def test_unreadable_words_are_counted_not_matched() -> None:
    reading = read_name("Иван Kumar")
    assert reading.unreadable == 1
    assert [t.variants[0] for t in reading.tokens] == ["kumar"]
