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
from collections.abc import Iterable, Sequence
from functools import lru_cache, reduce
from itertools import accumulate, chain, repeat
from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz

from barista_scoring.names import NameReading, read_name
from barista_scoring.namesdb import NO_MATCH, MatchKind, NameMatch, NamesDB
from barista_scoring.profile import Profile
from barista_scoring.romanise import cached_phonetic_key as _word_key
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

#: The words of the first bot template.
_GENERIC_WORDS = ("user", "usr", "insta", "ig", "instagram", "fb", "follow", "account", "profile")
#: Bot-like handle templates (the first that matches names the reason).
_BOT_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("a generic word and digits", rf"(?:{'|'.join(_GENERIC_WORDS)})[._]?[0-9]{{3,}}"),
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
#: ``bytes.translate`` table of a handle's shape: ASCII letters become "a", digits "0" (a letter-digit switch
#: is then an "a0" or "0a"). Bytes, not str: a 256-byte table is read in one C loop, a str table is a dict.
_SHAPE = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz0123456789", b"a" * 26 + b"0" * 10)
#: Builds a NamedTuple from a tuple of its fields without its Python-level ``__new__`` (half the cost; the
#: hot paths below build one per profile). The same object as ``Class(*fields)``.
_new_tuple = tuple.__new__

# The hot paths below use conditional expressions instead of min()/max(): a builtin call costs more than
# the rest of the expression, and ``x if x < c else c`` is the same value as ``min(x, c)``.


def read_handle(handle: str) -> HandleInfo:
    """The handle's letters, words, digit runs, phonetic key (the words' keys joined) and pattern."""
    text = handle.strip().lstrip("@").lower()[:100]
    if text.isalpha() and text.isascii():  # letters only (a fifth of handles): no regex needed
        length = len(text)
        columns = (0.0, 0.0, 0.0, 0.0, 0.0, (length if length < 30 else 30) / 30)
        return _new_tuple(HandleInfo, (text, text, _word_key(text), (text,), 0, 0, "", 0, None, False, columns))
    words = tuple(_LETTER_RUNS.findall(text))
    runs = _DIGIT_RUNS.findall(text)
    if runs:
        if len(runs) == 1:  # most handles with digits
            digits = longest = len(runs[0])
        else:
            lengths = [len(run) for run in runs]
            digits, longest = sum(lengths), max(lengths)
        # "replace": every other character becomes one "?", neither a letter nor a digit, as in the text
        shape = text.encode("ascii", "replace").translate(_SHAPE)
        switches = shape.count(b"a0") + shape.count(b"0a")
        last_run = runs[-1]
        trailing_digits = last_run if text.rstrip("._").endswith(last_run) else ""
    else:
        digits = longest = switches = 0
        trailing_digits = ""
    key = _word_key(words[0]) if len(words) == 1 else "".join(map(_word_key, words))
    template, year, columns = _pattern(text, bool(words), digits, longest, trailing_digits, switches)
    fields = (text, "".join(words), key, words, digits, longest, trailing_digits, switches, template, year, columns)
    return _new_tuple(HandleInfo, fields)


def _year_like(digits: str) -> bool:
    if len(digits) == 2:
        return digits[0] in "06789" or digits in ("10", "11", "12", "13", "14", "15")
    if len(digits) == 4:
        return 1950 <= int(digits) <= 2015
    return False


def _pattern(
    text: str, has_letters: bool, digits: int, longest_digit_run: int, trailing_digits: str, switches: int
) -> tuple[str | None, bool, tuple[float, ...]]:
    """The bot template the handle matches (if any), whether it ends with a year, and the columns."""
    length = len(text) or 1
    # What one of _BOT_TEMPLATES needs at least (a generic word and 3+ digits at the very end, 5+ digits
    # there, 5+ letter/digit switches, or nothing but digits, dots and underscores): most handles have none
    # of it and skip the regex.
    ends_with_digits = len(trailing_digits) >= 3 and text.endswith(trailing_digits)
    if (
        (ends_with_digits and (len(trailing_digits) >= 5 or text.startswith(_GENERIC_WORDS)))
        or switches >= 5
        or (not has_letters and not text.strip("0123456789._"))
    ):
        found = _ANY_TEMPLATE.match(text)
        template = _TEMPLATE_LABELS[found.lastgroup] if found is not None and found.lastgroup else None
    else:
        template = None
    year = len(trailing_digits) in (2, 4) and _year_like(trailing_digits)
    columns = (
        digits / length,
        (longest_digit_run if longest_digit_run < 10 else 10) / 10,
        1.0 if template else 0.0,
        1.0 if year else 0.0,
        (switches if switches < 6 else 6) / 6,
        (length if length < 30 else 30) / 30,
    )
    return template, year, columns


def handle_pattern(handle: HandleInfo) -> FeatureResult:
    """Digits, templates and shape of the handle. value: how bot-like it looks (0-1)."""
    template, year = handle.template, handle.year
    run = handle.longest_digit_run
    value = 1.0 if template else min(1.0, max(0, run - 2) / 6)
    if year and not template:
        value = min(value, 0.2)
    return FeatureResult(value, handle_pattern_reason(handle), handle.pattern_columns)


def handle_pattern_reason(handle: HandleInfo) -> str:
    """:func:`handle_pattern`'s reason alone."""
    template, run = handle.template, handle.longest_digit_run
    if template:
        return f"handle is {template} ('{handle.text}')"
    if run >= 5:
        return f"handle has a {run}-digit run"
    if handle.year:
        return f"handle ends with a year-like '{handle.trailing_digits}'"
    if handle.digits:
        return f"handle has {handle.digits} digit{'s' if handle.digits > 1 else ''}"
    return "handle has no digits"


#: Bits of a character pair the names never have (outside a-z, ^ and $).
_UNKNOWN_PAIR_BITS = 12.0


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
        #: ``bits`` by the two characters' byte values (``a * 256 + b``), for :meth:`bits_per_letter_many`.
        self._pair_bits = np.full(256 * 256, _UNKNOWN_PAIR_BITS)
        for pair, bits in self.bits.items():
            self._pair_bits[ord(pair[0]) * 256 + ord(pair[1])] = bits

        self.word_bits = lru_cache(maxsize=131_072)(self._word_bits)

    def _word_bits(self, word: str) -> float:
        padded = f"^{word}$"
        bigrams = map(operator.add, padded, padded[1:])
        # summed left to right (``sum`` compensates on Python 3.12+): what bits_per_letter_many does
        return reduce(operator.add, map(self.bits.get, bigrams, repeat(_UNKNOWN_PAIR_BITS)), 0.0)

    def bits_per_letter(self, words: Iterable[str]) -> float:
        """Mean bits per letter (word ends counted as letters) of ``words`` under the names' bigrams."""
        total = 0.0
        letters = 0
        for word in words:
            total += self.word_bits(word)
            letters += len(word) + 1
        return total / letters if letters else NAN

    def bits_per_letter_many(self, word_lists: Sequence[Sequence[str]]) -> list[float]:
        """:meth:`bits_per_letter` of each list of words, in numpy over all of them at once: the same floats
        (every sum is taken left to right, as there), at a fraction of the cost per list."""
        words = list(chain.from_iterable(word_lists))
        if not words:
            return [NAN] * len(word_lists)
        lengths = np.fromiter(map(len, words), np.intp, len(words))
        # every word padded "^word$", back to back; "replace": a non-ASCII character is one unknown byte
        text = ("^" + "$^".join(words) + "$").encode("ascii", "replace")
        codes = np.frombuffer(text, np.uint8).astype(np.intp)
        pair_bits = self._pair_bits[codes[:-1] * 256 + codes[1:]]
        # word i's bigrams start at its "^" and are len + 1 (the "$^" pair between two words is skipped)
        starts = np.cumsum(lengths + 2) - (lengths + 2)
        word_bits = _left_to_right_sums(pair_bits, starts, lengths + 1)
        counts = np.fromiter(map(len, word_lists), np.intp, len(word_lists))
        totals = _left_to_right_sums(word_bits, np.cumsum(counts) - counts, counts)
        owner = np.repeat(np.arange(len(word_lists)), counts)
        letters = np.bincount(owner, weights=lengths + 1, minlength=len(word_lists))
        bits = np.full(len(word_lists), NAN)
        some = letters > 0  # no words: nan, as in bits_per_letter
        bits[some] = totals[some] / letters[some]
        result: list[float] = bits.tolist()
        return result


def _left_to_right_sums(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The sum of each ``values[start : start + length]``, added left to right as Python does (``cumsum``
    along a row is sequential; ``np.add.reduceat`` may add pairwise and round differently). Slices of one
    length are summed together, so memory stays the size of ``values``."""
    sums = np.zeros(len(lengths))
    for length in np.unique(lengths):
        if length == 0:
            continue
        which = np.flatnonzero(lengths == length)
        grid = values[starts[which, None] + np.arange(length)]
        sums[which] = np.cumsum(grid, axis=1)[:, -1]
    return sums


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
_ABOVE_CHANCE = 1 - _CHANCE


#: Read per name, as a module constant: on Python 3.11 ``Script.URDU`` goes through ``EnumType.__getattr__``,
#: about ten times the cost of reading a global.
_URDU = Script.URDU


def analyse_name(text: str, db: NamesDB) -> NameAnalysis:
    reading = read_name(text)
    tokens = reading.tokens
    if not tokens:
        return _new_tuple(NameAnalysis, (reading, NO_MATCH, NO_MATCH, (), "", (0.0, 0.0, 0.0, 1.0)))
    first = db.match(tokens[0], "first")
    if len(tokens) == 1 and tokens[0].script is not _URDU:
        token = tokens[0]
        db_columns = (first.score, 0.0, 0.0, 0.0)
        return _new_tuple(NameAnalysis, (reading, first, NO_MATCH, token.handle_keys, token.keys[0], db_columns))
    last = db.match(tokens[-1], "last") if len(tokens) > 1 else NO_MATCH
    pairs: tuple[tuple[str, str], ...] = ()
    joined = ""
    for token in tokens:
        if token.script is _URDU:
            pairs += tuple([(_word_key(restored), restored) for restored in db.restore(token)[:3]])
        pairs += token.handle_keys
        joined += token.keys[0]
    if len(dict(pairs)) < len(pairs):  # a key twice (the same word twice, say): the first one counts
        first_of_each: dict[str, str] = {}
        for key, spelling in pairs:
            first_of_each.setdefault(key, spelling)
        pairs = tuple(first_of_each.items())
    db_columns = (first.score, 0.0, 0.0, 0.0) if len(tokens) == 1 else (first.score, last.score, 1.0, 0.0)
    return _new_tuple(NameAnalysis, (reading, first, last, pairs, joined, db_columns))


def _agreement(name: NameAnalysis, target: str) -> tuple[float, str | None]:
    """Best similarity (0-1) of a word of the name, or the whole name, to the handle's key, and the spelling
    of that word (``None``: the whole name, whose spelling is ``name.reading.romanised``).

    ``name`` has match keys and ``target`` (the handle's key) at least two letters.
    """
    best = 0.0
    best_spelling: str | None = ""
    for key, spelling in name.match_keys:
        if len(key) >= 3 and key in target:
            return 1.0, spelling
        weight = 1.0 if len(key) >= 4 else len(key) / 4
        if weight <= best:  # the score below is at most ``weight``: this key cannot do better
            continue
        raw = fuzz.partial_ratio(key, target) if len(key) <= len(target) else fuzz.ratio(key, target)
        # a chance alignment of a few letters scores 50-70: only close matches count
        score = (raw / 100 - _CHANCE) / _ABOVE_CHANCE
        score = (score if score > 0.0 else 0.0) * weight
        if score > best:
            best, best_spelling = score, spelling
            if score == 1.0:
                return best, best_spelling
    if len(name.joined_key) >= 3:
        whole = (fuzz.ratio(name.joined_key, target) / 100 - _CHANCE) / _ABOVE_CHANCE
        if whole > best:  # best >= 0: a whole name below chance (negative) never wins
            best, best_spelling = whole, None
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
    if best_spelling is None:
        best_spelling = name.reading.romanised
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
    if posts is None:
        log_posts = no_posts = NAN
    else:
        log_posts = math.log10(posts + 1)
        no_posts = 1.0 if posts == 0 else 0.0
    if followers is None or following is None:
        return (NAN, NAN, NAN, NAN, log_posts, no_posts)
    log_followers = math.log10(followers + 1)
    log_following = math.log10(following + 1)
    near_cap = (following - NEAR_CAP_FROM) / (FOLLOWING_CAP - NEAR_CAP_FROM)
    near_cap = 1.0 if near_cap >= 1.0 else (near_cap if near_cap > 0.0 else 0.0)
    return (log_followers, log_following, log_followers - log_following, near_cap, log_posts, no_posts)


def graph_ratios(followers: int | None, following: int | None, posts: int | None) -> FeatureResult:
    """Followers against following, following near the cap, posts against reach.

    value: log10 of followers per followed account (negative: follows far more than follow back).
    """
    columns = _graph_columns(followers, following, posts)
    reason = graph_reason(followers, following, posts)
    if followers is None or following is None:
        return _missing("graph", reason) if posts is None else FeatureResult(None, reason, columns)
    return FeatureResult(columns[2], reason, columns)


def graph_reason(followers: int | None, following: int | None, posts: int | None) -> str:
    """:func:`graph_ratios`' reason alone."""
    if followers is None or following is None:
        if posts is None:
            return "follower and following counts unknown"
        return f"follower/following counts unknown; {posts:,} post{'s' if posts != 1 else ''}"
    reason = f"followed by {followers:,}, follows {following:,}"
    if following > NEAR_CAP_FROM:  # the near_cap column is above 0
        reason += f" (near the {FOLLOWING_CAP:,} cap)"
    else:
        ratio = math.log10(followers + 1) - math.log10(following + 1)  # the log_ratio column
        if ratio <= -1:
            reason += f" (follows {10**-ratio:.0f}x more than follow back)"
    if posts is None:
        return reason
    return f"{reason}; {posts:,} post{'s' if posts != 1 else ''}"


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


def model_row(profile: Profile, name: NameAnalysis | None, handle: HandleInfo, bits: float) -> tuple[float, ...]:
    """The model's columns for one profile, in FEATURES order: the ``columns`` of the six features above
    (tests hold them equal), computed without their reasons. ``name`` is ``analyse_name`` of the full
    name (None when it is missing), ``handle`` is ``read_handle`` of the handle and ``bits`` the bigram
    model's ``bits_per_letter`` of its words."""
    if name is None:
        agreement: tuple[float, ...] = _NO_NAME
        db_columns: tuple[float, ...] = ()
    else:
        db_columns = name.db_columns
        if not name.match_keys:
            agreement = _NO_AGREEMENT
        elif len(handle.key) < 2:
            agreement = (0.0, name.first.score)
        else:
            best = _agreement(name, handle.key)[0]
            agreement = (best, (1.0 - best) * name.first.score)
    return (
        *agreement,
        *db_columns,
        *handle.pattern_columns,
        bits if len(handle.letters) >= 4 else NAN,
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
