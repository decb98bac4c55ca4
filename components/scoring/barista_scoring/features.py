"""The features: pure functions from (parts of) a profile to a value, a short reason and model inputs.

Each feature returns a :class:`FeatureResult`: ``value`` (what a person reads, ``None`` when the
inputs were missing), ``reason`` (one short sentence) and ``columns`` (the numbers the ensemble
weighs; ``nan`` where unknown, which the ensemble treats as "no evidence either way").

1. ``name_handle``: does the handle spell the name, after romanising it the way people type it?
2. ``names_db``: are the first name and surname known names?
3. ``handle_pattern``: digit share, long digit runs, bot templates, class switches, year suffixes.
4. ``handle_gibberish``: do the handle's letters read like names (a character bigram model of the
   names DB) or like random keys? (the "further feature"; the evaluation shows what it adds.)
5. ``graph``: follower/following ratio, following near the platform cap, posts against reach.
6. ``completeness``: picture, biography, external link, privacy, verification.
"""

from __future__ import annotations

import math
import operator
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from itertools import accumulate, repeat
from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz

from barista_scoring.names import NameReading, read_name
from barista_scoring.namesdb import NO_MATCH, MatchKind, NameMatch, NamesDB
from barista_scoring.profile import Profile
from barista_scoring.romanise import phonetic_key
from barista_scoring.script import Script

NAN = math.nan

#: Instagram refuses to follow more than 7,500 accounts; bought-follower accounts sit near it.
FOLLOWING_CAP = 7_500
NEAR_CAP_FROM = 5_000

#: Feature names and their model columns, in the ensemble's order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name_handle": ("similarity", "mismatch_known_name"),
    "names_db": ("first_known", "surname_known", "has_surname", "no_readable_name"),
    "handle_pattern": ("digit_share", "digit_run", "bot_template", "year_suffix", "class_switches", "length"),
    "handle_gibberish": ("bits_per_letter",),
    "graph": ("log_followers", "log_following", "log_ratio", "near_cap", "log_posts", "no_posts"),
    "completeness": ("picture", "biography", "external_url", "private", "verified"),
}
FEATURES: tuple[str, ...] = tuple(COLUMNS)


class FeatureResult(NamedTuple):
    value: float | None
    reason: str
    columns: tuple[float, ...]

    @property
    def available(self) -> bool:
        return self.value is not None


def _missing(feature: str, reason: str) -> FeatureResult:
    return FeatureResult(None, reason, (NAN,) * len(COLUMNS[feature]))


# ---- handle ---------------------------------------------------------------------------------------------

#: Bot-like handle templates (the first that matches names the reason).
_BOT_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("a generic word and digits", r"(?:user|usr|insta|ig|instagram|fb|follow|account|profile)[._]?[0-9]{3,}"),
    ("a word and 5+ digits", r"[a-z]+[._]?[0-9]{5,}"),
    ("1-3 letters and 6+ digits", r"[a-z]{1,3}[._]?[0-9]{6,}"),
    ("digits only", r"[0-9._]+"),
    ("letters and digits interleaved", r"(?:[a-z]{1,2}[0-9]{1,2}){3,}[a-z0-9]*"),
)
_TEMPLATE_LABELS = {f"t{i}": label for i, (label, _) in enumerate(_BOT_TEMPLATES)}
_ANY_TEMPLATE = re.compile("|".join(f"(?P<t{i}>{rx}$)" for i, (_, rx) in enumerate(_BOT_TEMPLATES)))


class HandleInfo(NamedTuple):
    text: str
    letters: str
    key: str
    words: tuple[str, ...]
    digits: int
    longest_digit_run: int
    trailing_digits: str
    switches: int
    #: The bot template the handle matches (its label), if any.
    template: str | None
    #: The handle ends with a year-like run of digits.
    year: bool
    #: The handle_pattern feature's columns (they depend on the handle alone).
    pattern_columns: tuple[float, ...]


_LETTER_RUNS = re.compile(r"[a-z]+")
_DIGIT_RUNS = re.compile(r"[0-9]+")
#: ``str.translate`` table of a handle's shape: ASCII letters become "a", digits "0" (a letter-digit switch
#: is then an "a0" or "0a").
_SHAPE = str.maketrans("abcdefghijklmnopqrstuvwxyz0123456789", "a" * 26 + "0" * 10)


def read_handle(handle: str) -> HandleInfo:
    """The handle's letters, words, digit runs, phonetic key (the words' keys joined) and pattern."""
    text = handle.strip().lstrip("@").lower()[:100]
    if text.isalpha() and text.isascii():  # letters only (a fifth of handles): no regex needed
        length = len(text)
        columns = (0.0, 0.0, 0.0, 0.0, 0.0, min(length, 30) / 30)
        return HandleInfo(text, text, _word_key(text), (text,), 0, 0, "", 0, None, False, columns)
    words = tuple(_LETTER_RUNS.findall(text))
    runs = _DIGIT_RUNS.findall(text)
    if runs:
        lengths = [len(run) for run in runs]
        digits, longest = sum(lengths), max(lengths)
        shape = text.translate(_SHAPE)
        switches = shape.count("a0") + shape.count("0a")
        last_run = runs[-1]
        trailing_digits = last_run if text.rstrip("._").endswith(last_run) else ""
    else:
        digits = longest = switches = 0
        trailing_digits = ""
    key = "".join(map(_word_key, words))
    template, year, columns = _pattern(text, digits, longest, trailing_digits, switches)
    return HandleInfo(
        text, "".join(words), key, words, digits, longest, trailing_digits, switches, template, year, columns
    )


@lru_cache(maxsize=131_072)
def _word_key(word: str) -> str:
    return phonetic_key(word)


def clear_caches() -> None:
    _word_key.cache_clear()


def _year_like(digits: str) -> bool:
    if len(digits) == 2:
        return digits[0] in "06789" or digits in ("10", "11", "12", "13", "14", "15")
    if len(digits) == 4:
        return 1950 <= int(digits) <= 2015
    return False


def _pattern(
    text: str, digits: int, longest_digit_run: int, trailing_digits: str, switches: int
) -> tuple[str | None, bool, tuple[float, ...]]:
    """The bot template the handle matches (if any), whether it ends with a year, and the columns."""
    length = max(len(text), 1)
    # What one of _BOT_TEMPLATES needs at least (3+ digits at the very end, 5+ letter/digit switches, or
    # nothing but digits, dots and underscores): most handles have none of it and skip the regex.
    if (
        (len(trailing_digits) >= 3 and text.endswith(trailing_digits))
        or switches >= 5
        or not text.strip("0123456789._")
    ):
        found = _ANY_TEMPLATE.match(text)
        template = _TEMPLATE_LABELS[found.lastgroup] if found is not None and found.lastgroup else None
    else:
        template = None
    year = bool(digits) and _year_like(trailing_digits)
    columns = (
        digits / length,
        min(longest_digit_run, 10) / 10,
        1.0 if template else 0.0,
        1.0 if year else 0.0,
        min(switches, 6) / 6,
        min(length, 30) / 30,
    )
    return template, year, columns


def handle_pattern(handle: HandleInfo) -> FeatureResult:
    """Digits, templates and shape of the handle. value: how bot-like it looks (0-1)."""
    template, year = handle.template, handle.year
    run = handle.longest_digit_run
    value = 1.0 if template else min(1.0, max(0, run - 2) / 6)
    if year and not template:
        value = min(value, 0.2)
    if template:
        reason = f"handle is {template} ('{handle.text}')"
    elif run >= 5:
        reason = f"handle has a {run}-digit run"
    elif year:
        reason = f"handle ends with a year-like '{handle.trailing_digits}'"
    elif handle.digits:
        reason = f"handle has {handle.digits} digit{'s' if handle.digits > 1 else ''}"
    else:
        reason = "handle has no digits"
    return FeatureResult(value, reason, handle.pattern_columns)


class BigramModel:
    """Character bigrams of the names DB: how name-like a string of letters is, in bits per letter."""

    def __init__(self, names: Iterable[str]) -> None:
        counts: Counter[str] = Counter()
        for name in names:
            padded = f"^{name}$"
            counts.update(padded[i : i + 2] for i in range(len(padded) - 1))
        alphabet = "^abcdefghijklmnopqrstuvwxyz$"
        firsts: Counter[str] = Counter()
        for pair, n in counts.items():
            firsts[pair[0]] += n
        self.bits: dict[str, float] = {}
        for a in alphabet[:-1]:
            total = firsts[a] + len(alphabet)  # add-one smoothing
            for b in alphabet[1:]:
                self.bits[a + b] = -math.log2((counts[a + b] + 1) / total)

        self.word_bits = lru_cache(maxsize=131_072)(self._word_bits)

    def _word_bits(self, word: str) -> float:
        padded = f"^{word}$"
        bigrams = map(operator.add, padded, padded[1:])
        return sum(map(self.bits.get, bigrams, repeat(12.0)))

    def bits_per_letter(self, words: Iterable[str]) -> float:
        """Mean bits per letter (word ends counted as letters) of ``words`` under the names' bigrams."""
        total = 0.0
        letters = 0
        for word in words:
            total += self.word_bits(word)
            letters += len(word) + 1
        return total / letters if letters else NAN


def handle_gibberish(handle: HandleInfo, model: BigramModel) -> FeatureResult:
    """How random the handle's letters look. value: bits per letter under the names bigram model."""
    if len(handle.letters) < 4:
        return _missing("handle_gibberish", "handle has too few letters to judge")
    bits = model.bits_per_letter(handle.words)
    if bits >= 4.6:
        reason = f"handle letters look random ({bits:.1f} bits/letter)"
    elif bits >= 4.0:
        reason = f"handle letters are unusual for names ({bits:.1f} bits/letter)"
    else:
        reason = f"handle letters read like names ({bits:.1f} bits/letter)"
    return FeatureResult(bits, reason, (bits,))


# ---- name -----------------------------------------------------------------------------------------------


class NameAnalysis(NamedTuple):
    """A full name read, romanised and looked up once (cached by the scorer per distinct name)."""

    reading: NameReading
    first: NameMatch
    last: NameMatch
    #: (phonetic key, spelling shown in reasons) of every token, Urdu tokens with their restored vowels.
    match_keys: tuple[tuple[str, str], ...]
    #: All tokens' primary spellings joined (for the whole-name comparison).
    joined_key: str
    #: The names_db feature's columns (they depend on the name alone).
    db_columns: tuple[float, float, float, float]


#: Fuzzy similarity (0-1) two unrelated strings reach by chance; rescaled to 0.
_CHANCE = 0.6


#: Read per name, as a module constant: on Python 3.11 ``Script.URDU`` goes through ``EnumType.__getattr__``,
#: about ten times the cost of reading a global.
_URDU = Script.URDU


def analyse_name(text: str, db: NamesDB) -> NameAnalysis:
    reading = read_name(text)
    tokens = reading.tokens
    if not tokens:
        return NameAnalysis(reading, NO_MATCH, NO_MATCH, (), "", (0.0, 0.0, 0.0, 1.0))
    first = db.match(tokens[0], "first")
    if len(tokens) == 1 and tokens[0].script is not _URDU:
        token = tokens[0]
        return NameAnalysis(reading, first, NO_MATCH, token.handle_keys, token.keys[0], (first.score, 0.0, 0.0, 0.0))
    last = db.match(tokens[-1], "last") if len(tokens) > 1 else NO_MATCH
    keys: dict[str, str] = {}
    for token in tokens:
        if token.script is _URDU:
            for restored in db.restore(token)[:3]:
                keys.setdefault(_word_key(restored), restored)
        for key, spelling in token.handle_keys:
            keys.setdefault(key, spelling)
    joined = "".join([t.keys[0] for t in tokens])
    db_columns = (first.score, 0.0, 0.0, 0.0) if len(tokens) == 1 else (first.score, last.score, 1.0, 0.0)
    return NameAnalysis(reading, first, last, tuple(keys.items()), joined, db_columns)


def _agreement(name: NameAnalysis, target: str) -> tuple[float, str]:
    """Best similarity (0-1) of a word of the name, or the whole name, to the handle's key, and its spelling.

    ``name`` has match keys and ``target`` (the handle's key) at least two letters.
    """
    best = 0.0
    best_spelling = ""
    for key, spelling in name.match_keys:
        if len(key) >= 3 and key in target:
            return 1.0, spelling
        weight = min(1.0, len(key) / 4)
        if weight <= best:  # the score below is at most ``weight``: this key cannot do better
            continue
        raw = fuzz.partial_ratio(key, target) if len(key) <= len(target) else fuzz.ratio(key, target)
        # a chance alignment of a few letters scores 50-70: only close matches count
        score = max(0.0, (raw / 100 - _CHANCE) / (1 - _CHANCE)) * weight
        if score > best:
            best, best_spelling = score, spelling
            if score == 1.0:
                return best, best_spelling
    if len(name.joined_key) >= 3:
        whole = max(0.0, (fuzz.ratio(name.joined_key, target) / 100 - _CHANCE) / (1 - _CHANCE))
        if whole > best:
            best, best_spelling = whole, name.reading.romanised
    return best, best_spelling


def name_handle_agreement(name: NameAnalysis | None, handle: HandleInfo) -> FeatureResult:
    """Does the handle spell (part of) the name? value: best similarity 0-1 of a name word in the handle.

    Columns: the similarity, and the mismatch weighted by how surely the first name is a known name
    (a real-looking name on an unrelated handle is the stolen-name pattern of bought followers).
    """
    if name is None:
        return _missing("name_handle", "no full name given")
    if not name.match_keys:
        return _missing("name_handle", "the name has no letters to compare with the handle")
    target = handle.key
    known = name.first.score
    if len(target) < 2:
        reason = f"handle '{handle.text}' has no letters to compare with the name"
        return FeatureResult(0.0, reason, (0.0, known))
    best, best_spelling = _agreement(name, target)
    if best >= 0.9:
        reason = f"handle '{handle.text}' contains '{best_spelling}' from the name"
    elif best >= 0.6:
        reason = f"handle '{handle.text}' resembles '{best_spelling}' from the name ({best:.0%})"
    elif known > 0:
        reason = f"handle '{handle.text}' shares nothing with the real-looking name '{name.reading.romanised}'"
    else:
        reason = f"handle '{handle.text}' shares nothing with the name (read as '{name.reading.romanised}')"
    return FeatureResult(best, reason, (best, (1.0 - best) * known))


def _describe(match: NameMatch, token: str, role: str) -> str:
    if match.kind is MatchKind.NONE:
        return f"'{token}' is not a known {role}"
    if match.kind is MatchKind.EXACT:
        return f"'{token}' is a known {role}"
    return f"'{token}' matches the known name '{match.name}' ({match.kind.value})"


def names_db_match(name: NameAnalysis | None) -> FeatureResult:
    """Are the first word and the last word of the name known names? value: their mean score 0-1."""
    if name is None:
        return _missing("names_db", "no full name given")
    tokens = name.reading.tokens
    if not tokens:
        what = "is empty" if not name.reading.text.strip() else "has no letters we can read"
        return FeatureResult(0.0, f"the name {what}", name.db_columns)
    first_word = tokens[0].variants[0]
    if len(tokens) == 1:
        reason = _describe(name.first, first_word, "first name")
        return FeatureResult(name.first.score, reason, name.db_columns)
    last_word = tokens[-1].variants[0]
    reason = f"{_describe(name.first, first_word, 'first name')}; {_describe(name.last, last_word, 'surname')}"
    value = (name.first.score + name.last.score) / 2
    return FeatureResult(value, reason, name.db_columns)


# ---- counts ---------------------------------------------------------------------------------------------


def _graph_columns(followers: int | None, following: int | None, posts: int | None) -> tuple[float, ...]:
    log_posts = math.log10(posts + 1) if posts is not None else NAN
    no_posts = (1.0 if posts == 0 else 0.0) if posts is not None else NAN
    if followers is None or following is None:
        return (NAN, NAN, NAN, NAN, log_posts, no_posts)
    log_followers = math.log10(followers + 1)
    log_following = math.log10(following + 1)
    near_cap = min(1.0, max(0.0, (following - NEAR_CAP_FROM) / (FOLLOWING_CAP - NEAR_CAP_FROM)))
    return (log_followers, log_following, log_followers - log_following, near_cap, log_posts, no_posts)


def graph_ratios(followers: int | None, following: int | None, posts: int | None) -> FeatureResult:
    """Followers against following, following near the cap, posts against reach.

    value: log10 of followers per followed account (negative: follows far more than follow back).
    """
    columns = _graph_columns(followers, following, posts)
    posts_text = "" if posts is None else f"; {posts:,} post{'s' if posts != 1 else ''}"
    if followers is None or following is None:
        if posts is None:
            return _missing("graph", "follower and following counts unknown")
        return FeatureResult(None, f"follower/following counts unknown{posts_text}", columns)
    ratio, near_cap = columns[2], columns[3]
    reason = f"followed by {followers:,}, follows {following:,}"
    if near_cap > 0:
        reason += f" (near the {FOLLOWING_CAP:,} cap)"
    elif ratio <= -1:
        reason += f" (follows {10**-ratio:.0f}x more than follow back)"
    return FeatureResult(ratio, reason + posts_text, columns)


def _flag_columns(profile: Profile) -> tuple[float, ...]:
    bio, url = profile.biography, profile.external_url
    picture, private, verified = profile.has_profile_pic, profile.is_private, profile.is_verified
    return (
        NAN if picture is None else (1.0 if picture else 0.0),
        NAN if bio is None else (1.0 if bio.strip() else 0.0),
        NAN if url is None else (1.0 if url.strip() else 0.0),
        NAN if private is None else (1.0 if private else 0.0),
        NAN if verified is None else (1.0 if verified else 0.0),
    )


def completeness(profile: Profile) -> FeatureResult:
    """Picture, biography, link, privacy, verification. value: share of picture/bio/link present."""
    columns = _flag_columns(profile)
    known = [c for c in columns[:3] if not math.isnan(c)]
    if not known and profile.is_private is None and profile.is_verified is None:
        return _missing("completeness", "picture, biography, link, privacy and verification unknown")
    parts = []
    for label, column in (("picture", 0), ("biography", 1), ("link", 2)):
        if not math.isnan(columns[column]):
            parts.append(("has a " if columns[column] else "no ") + label)
    if profile.is_verified:
        parts.append("verified")
    if profile.is_private:
        parts.append("private")
    value = sum(known) / len(known) if known else None
    return FeatureResult(value, ", ".join(parts), columns)


# ---- every feature's columns at once, for scoring many profiles ----------------------------------------

_NO_NAME = (NAN,) * (len(COLUMNS["name_handle"]) + len(COLUMNS["names_db"]))
_NO_AGREEMENT = (NAN,) * len(COLUMNS["name_handle"])


def model_row(
    profile: Profile, name: NameAnalysis | None, handle: HandleInfo, bigrams: BigramModel
) -> tuple[float, ...]:
    """The model's columns for one profile, in FEATURES order: the ``columns`` of the six features above
    (tests hold them equal), computed without their reasons. ``name`` is ``analyse_name`` of the full
    name (None when it is missing) and ``handle`` is ``read_handle`` of the handle."""
    if name is None:
        head = _NO_NAME
    else:
        if not name.match_keys:
            agreement = _NO_AGREEMENT
        elif len(handle.key) < 2:
            agreement = (0.0, name.first.score)
        else:
            best = _agreement(name, handle.key)[0]
            agreement = (best, (1.0 - best) * name.first.score)
        head = agreement + name.db_columns
    bits = bigrams.bits_per_letter(handle.words) if len(handle.letters) >= 4 else NAN
    return (
        *head,
        *handle.pattern_columns,
        bits,
        *_graph_columns(profile.follower_count, profile.following_count, profile.post_count),
        *_flag_columns(profile),
    )


#: Index of each feature's first column in a model row.
FIRST_COLUMN: dict[str, int] = dict(
    zip(FEATURES, accumulate((len(c) for c in COLUMNS.values()), initial=0), strict=False)
)


def availability(x: np.ndarray) -> np.ndarray:
    """Which features had their inputs (``value is not None``), from model rows (n x columns) → n x features.

    A feature is unavailable exactly when its first column is ``nan``; completeness is available when
    any of picture, biography and link is known.
    """
    firsts = [FIRST_COLUMN[f] for f in FEATURES]
    known = ~np.isnan(x[:, firsts])
    flags = FIRST_COLUMN["completeness"]
    known[:, FEATURES.index("completeness")] = ~np.isnan(x[:, flags : flags + 3]).all(axis=1)
    return known
