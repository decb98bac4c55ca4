"""Each of the 10 scripts: real names romanised to the spellings people put in their handles."""

from __future__ import annotations

import pytest

from barista_scoring.features import analyse_name, name_handle_agreement, read_handle
from barista_scoring.names import read_name
from barista_scoring.romanise import phonetic_key, skeleton
from barista_scoring.scorer import Scorer

# (name as written, a spelling people type, a handle such a person uses)
ROUND_TRIPS = [
    ("सुरेश कुमार", "suresh", "suresh_kumar_92"),
    ("प्रिया शर्मा", "priya", "priya.sharma"),
    ("मनमोहन सिंह", "singh", "manmohan.singh"),
    ("कमला", "kamla", "kamla_devi"),
    ("सिद्धार्थ", "siddharth", "sid.siddharth"),
    ("সৌরভ গাঙ্গুলি", "sourav", "sourav_ganguly"),
    ("দেবাশিস বিশ্বাস", "debashis", "debashis.biswas"),
    ("অভিজিৎ দাস", "abhijit", "abhijit_das"),
    ("ਗੁਰਪ੍ਰੀਤ ਸਿੰਘ", "gurpreet", "gurpreet.singh"),
    ("ਹਰਪ੍ਰੀਤ ਕੌਰ", "kaur", "harpreet_kaur_"),
    ("ਜਸਪ੍ਰੀਤ ਗਿੱਲ", "gill", "jaspreet_gill99"),
    ("હિરેન પટેલ", "patel", "hiren.patel"),
    ("ધવલ શાહ", "dhaval", "dhaval_shah"),
    ("ଜଗନ୍ନାଥ ଦାସ", "jagannath", "jagannath_das"),
    ("ସୁଭଶ୍ରୀ ମହାନ୍ତି", "subhashree", "subhashree.mohanty"),
    ("சுரேஷ் குமார்", "suresh", "suresh_kumar_92"),
    ("முருகன்", "murugan", "murugan_arts"),
    ("கார்த்திக்", "karthik", "karthik.s"),
    ("வசந்த்", "vasanth", "vasanth_official"),
    ("முத்து", "muthu", "muthu_lakshmi"),
    ("రమేష్ రెడ్డి", "ramesh", "ramesh.reddy"),
    ("వెంకటేష్", "venkatesh", "venkatesh_rao"),
    ("రామ", "rama", "rama_krishna88"),
    ("ಸುರೇಶ ಗೌಡ", "suresh", "suresha_gowda"),
    ("ರಮೇಶ್", "ramesh", "ramesh.hegde"),
    ("സുരേഷ് നായർ", "suresh", "suresh_nair"),
    ("ശ്രീജ", "sreeja", "sreeja.menon"),
    ("അജിത്ത്", "ajith", "ajith.k"),
    ("ഉണ്ണികൃഷ്ണൻ", "unnikrishnan", "unnikrishnan_p"),
    ("عمران خان", "imran", "imran_khan"),
    ("محمد علی", "ali", "mohd.ali786"),
    ("سلمان", "salman", "salman.sheikh"),
]


@pytest.mark.parametrize(("name", "spelling", "handle"), ROUND_TRIPS)
def test_handle_spells_the_romanised_name(scorer: Scorer, name: str, spelling: str, handle: str) -> None:
    analysis = analyse_name(name, scorer.db)
    spellings = {s for _, s in analysis.match_keys} | {v for t in analysis.reading.tokens for v in t.variants}
    assert phonetic_key(spelling) in {phonetic_key(s) for s in spellings}, spellings
    result = name_handle_agreement(analysis, read_handle(handle))
    assert result.value is not None and result.value >= 0.9, result.reason


@pytest.mark.parametrize(
    ("name", "first"),
    [("சுரேஷ்", "suresh"), ("कमला", "kamla"), ("ಸುರೇಶ", "suresha"), ("రామ", "rama"), ("ਗੁਰਪ੍ਰੀਤ", "gurpreet")],
)
def test_most_common_spelling_comes_first(name: str, first: str) -> None:
    assert read_name(name).tokens[0].variants[0] == first


def test_tamil_is_not_read_the_scholarly_way() -> None:
    variants = read_name("சுரேஷ்").tokens[0].variants
    assert "suresh" in variants
    assert not any(v.startswith("jh") for v in variants)


def test_variants_cover_aspirates_vowel_length_and_doubles() -> None:
    assert {"saurabh", "sourabh", "saurab"} <= set(read_name("सौरभ").tokens[0].variants)
    assert {"deepak", "dipak"} <= set(read_name("दीपक").tokens[0].variants)
    assert {"siddharth", "sidharth"} & set(read_name("सिद्धार्थ").tokens[0].variants)


def test_phonetic_key_folds_spelling_variation() -> None:
    assert phonetic_key("sooraj") == phonetic_key("suraj")
    assert phonetic_key("bhavna") == phonetic_key("bavna")
    assert phonetic_key("vicky") == phonetic_key("wicky")
    assert phonetic_key("saurabh") == phonetic_key("sourab")
    assert phonetic_key("priya") != phonetic_key("pooja")


def test_urdu_vowels_are_restored_from_the_names_db(scorer: Scorer) -> None:
    token = read_name("سلمان").tokens[0]
    assert skeleton(token.variants[0]) == skeleton("salman")
    assert "salman" in scorer.db.restore(token)
