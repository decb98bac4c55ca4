"""Optional enrichment of snapshots before they are published (``spec.enrich`` of the ScrapeFlow).

- ``categories``: a creator category from keywords in the profile's name, bio and the platform's own
  category label (``travel``, ``food``, ``fashion``, …). The platform's label is kept as
  ``platform_category``; ``category`` becomes ours when a keyword matches.
- ``language``: the language of a bio (profiles) or caption/title (posts) as ISO 639-1 — by script
  for non-Latin text (Devanagari → ``hi``, Tamil → ``ta``, … the ten Indic scripts the scorer knows),
  by common-word counts for Latin text (en, es, pt, fr, de, it, id). Too little text → nothing.

Both are heuristics meant to fill gaps cheaply; they never overwrite what a source reported as
``language``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import replace

from barista_worker.model import Snapshot

CATEGORIES: dict[str, tuple[str, ...]] = {
    "travel": ("travel", "traveler", "traveller", "wanderlust", "explore", "adventure", "nomad", "trip", "tourism"),
    "food": ("food", "foodie", "chef", "recipe", "recipes", "cooking", "kitchen", "baking", "restaurant", "vegan"),
    "fashion": ("fashion", "style", "stylist", "outfit", "ootd", "designer", "clothing", "apparel", "streetwear"),
    "beauty": ("beauty", "makeup", "skincare", "cosmetics", "mua", "hair", "nails"),
    "fitness": ("fitness", "gym", "workout", "yoga", "trainer", "athlete", "running", "crossfit", "bodybuilding"),
    "tech": ("tech", "technology", "gadgets", "developer", "coding", "software", "ai", "startup", "unboxing"),
    "gaming": ("gaming", "gamer", "esports", "twitch", "streamer", "playstation", "xbox", "minecraft"),
    "music": ("music", "musician", "singer", "songwriter", "rapper", "producer", "dj", "band", "guitar"),
    "news": ("news", "journalist", "journalism", "media", "magazine", "reporter", "breaking"),
    "education": ("education", "teacher", "learn", "learning", "tutorial", "science", "history", "study"),
    "finance": ("finance", "investing", "stocks", "crypto", "money", "trading", "economics"),
    "sports": ("sports", "football", "cricket", "soccer", "basketball", "tennis", "f1", "olympian"),
    "comedy": ("comedy", "comedian", "memes", "funny", "standup", "sketch"),
    "parenting": ("parenting", "mom", "mum", "dad", "motherhood", "family", "kids", "baby"),
    "photography": ("photography", "photographer", "photo", "photos", "camera", "wildlife"),
}
_KEYWORD_CATEGORY = {word: category for category, words in CATEGORIES.items() for word in words}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

#: Unicode script (the first word of a character's name) → language.
SCRIPTS = {
    "DEVANAGARI": "hi",
    "BENGALI": "bn",
    "GURMUKHI": "pa",
    "GUJARATI": "gu",
    "ORIYA": "or",
    "TAMIL": "ta",
    "TELUGU": "te",
    "KANNADA": "kn",
    "MALAYALAM": "ml",
    "ARABIC": "ar",
    "CYRILLIC": "ru",
    "GREEK": "el",
    "HEBREW": "he",
    "THAI": "th",
    "HANGUL": "ko",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "CJK": "zh",
}
STOPWORDS = {
    "en": ("the", "and", "of", "to", "in", "is", "for", "with", "my", "you", "on", "this", "your", "are", "it"),
    "es": ("el", "la", "de", "que", "y", "en", "los", "las", "por", "con", "para", "una", "es", "mi", "del"),
    "pt": ("o", "a", "de", "que", "e", "do", "da", "em", "para", "com", "uma", "os", "não", "meu", "no"),
    "fr": ("le", "la", "les", "de", "et", "des", "en", "un", "une", "pour", "est", "dans", "du", "mon", "avec"),
    "de": ("der", "die", "und", "das", "ist", "nicht", "ich", "mit", "für", "ein", "eine", "auf", "den", "von"),
    "it": ("il", "di", "che", "e", "la", "per", "un", "una", "sono", "con", "del", "della", "non", "mio", "gli"),
    "id": ("yang", "dan", "di", "ini", "itu", "untuk", "dengan", "saya", "ke", "dari", "tidak", "ada", "kita"),
}
_STOPWORD_SETS = {lang: frozenset(words) for lang, words in STOPWORDS.items()}


def categorise(*texts: str | None) -> str | None:
    """The category with the most keyword hits in ``texts`` (ties: catalogue order), or None."""
    hits: Counter[str] = Counter()
    for text in texts:
        if text:
            for word in _WORD.findall(text.lower()):
                category = _KEYWORD_CATEGORY.get(word.removeprefix("#"))
                if category is not None:
                    hits[category] += 1
    if not hits:
        return None
    best = max(hits.values())
    return next(category for category in CATEGORIES if hits.get(category) == best)


def detect_language(text: str | None, *, min_letters: int = 12) -> str | None:
    """ISO 639-1 code of ``text``'s language, or None when unsure."""
    if not text:
        return None
    languages: Counter[str] = Counter()  # by script; "latin" when a word list must decide
    letters = 0
    for char in text:
        if not char.isalpha():
            continue
        letters += 1
        script = unicodedata.name(char, "").split(" ", 1)[0]
        if script in SCRIPTS:
            languages[SCRIPTS[script]] += 1
        elif script == "LATIN":
            languages["latin"] += 1
    if letters < min_letters or not languages:
        return None
    if languages["ja"] and languages["zh"]:  # Japanese writes kanji between its kana
        languages["ja"] += languages.pop("zh")
    language, seen = languages.most_common(1)[0]
    if seen * 2 < letters:
        return None
    if language != "latin":
        return language
    words = _WORD.findall(text.lower())
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORD_SETS.items()}
    best = max(scores.values())
    winners = [lang for lang, score in scores.items() if score == best]
    return winners[0] if best >= 2 and len(winners) == 1 else None


class Enricher:
    def __init__(self, *, categories: bool, language: bool) -> None:
        self.categories = categories
        self.language = language

    @property
    def enabled(self) -> bool:
        return self.categories or self.language

    def apply(self, snapshot: Snapshot) -> Snapshot:
        properties = dict(snapshot.properties)
        if snapshot.type == "profile.snapshot":
            if self.categories:
                platform_category = properties.get("category")
                category = categorise(properties.get("display_name"), properties.get("bio"), platform_category)
                if category is not None:
                    if platform_category is not None:
                        properties["platform_category"] = platform_category
                    properties["category"] = category
            if self.language and "language" not in properties:
                language = detect_language(properties.get("bio"))
                if language is not None:
                    properties["language"] = language
        elif snapshot.type == "post.snapshot" and self.language and "language" not in properties:
            language = detect_language(properties.get("caption") or properties.get("title"))
            if language is not None:
                properties["language"] = language
        if properties == snapshot.properties:
            return snapshot
        return replace(snapshot, properties=properties)
