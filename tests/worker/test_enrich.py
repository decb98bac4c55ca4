"""Optional enrichment: keyword categories and script/stop-word language detection."""

from __future__ import annotations

import pytest

from barista_worker.enrich import Enricher, categorise, detect_language
from barista_worker.model import Snapshot


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (("Slow travel across Europe. Trip notes and maps.",), "travel"),
        (("Chef & recipe developer", "Food"), "food"),
        (("Unboxing gadgets and honest tech reviews",), "tech"),
        (("I like turtles",), None),
        ((None, ""), None),
    ],
)
def test_categories_from_keywords(texts, expected):
    assert categorise(*texts) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("घुमक्कड़ी और पहाड़ों की कहानियाँ, हर हफ्ते नई यात्रा", "hi"),
        ("சென்னையின் சிறந்த உணவகங்கள் மற்றும் சமையல் குறிப்புகள்", "ta"),
        ("ಬೆಂಗಳೂರಿನ ಬೀದಿ ಆಹಾರ ಮತ್ತು ಪ್ರವಾಸ", "kn"),
        ("The best street food in the city and the stories of the people who cook it", "en"),
        ("Viajes por América Latina con mochila y la cámara de mi padre", "es"),
        ("Les recettes de la semaine et le pain du dimanche pour la famille", "fr"),
        ("東京のラーメンとカフェを毎日紹介しています", "ja"),
        ("short", None),
        ("1234567890 !!! ????", None),
    ],
)
def test_language_by_script_or_common_words(text, expected):
    assert detect_language(text) == expected


def test_enricher_fills_gaps_and_keeps_what_the_source_said():
    enricher = Enricher(categories=True, language=True)
    profile = Snapshot(
        "profile.snapshot", "asha.wild",
        {"platform": "instagram", "handle": "asha.wild", "category": "Photographer",
         "bio": "Wildlife and travel photography from the Western Ghats. Trips, maps and field notes."},
    )  # fmt: skip
    enriched = enricher.apply(profile).properties
    assert enriched["category"] == "photography" and enriched["platform_category"] == "Photographer"
    assert enriched["language"] == "en"
    assert profile.properties["category"] == "Photographer"  # the original snapshot is untouched

    post = Snapshot("post.snapshot", "k/v1", {"platform": "youtube", "post_id": "v1", "language": "hi",
                                              "title": "The best street food in the city and the people"})  # fmt: skip
    assert enricher.apply(post).properties["language"] == "hi"
    off = Enricher(categories=False, language=False)
    assert off.apply(profile) is profile and not off.enabled
