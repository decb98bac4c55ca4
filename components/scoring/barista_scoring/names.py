"""Reading a full name: split it into words by script, romanise each word, fold each to a phonetic key.

``read_name("சுரேஷ் Kumar")`` → two tokens, Tamil "suresh…" and Latin "kumar". Emoji, digits and
punctuation separate words and are dropped; words in scripts we cannot read (Cyrillic, Han, …) are
kept aside so the caller can lower its confidence.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import repeat
from typing import NamedTuple

from barista_scoring.romanise import cached_phonetic_key, romanise
from barista_scoring.script import BRAHMIC_BASE, MATCHABLE_SCRIPTS, Script, char_script

#: Longer names are cut (a name field is at most 30-64 characters on every platform we read).
MAX_NAME_CHARS = 256
#: At most this many words are read (the rest are kept in the text but not matched).
MAX_WORDS = 8
#: How many of a word's spellings (distinct keys, best first) are compared with the handle.
HANDLE_KEYS = 3


class TokenReading(NamedTuple):
    text: str
    script: Script
    #: Romanisations, most common first.
    variants: tuple[str, ...]
    #: Distinct phonetic keys of the variants (what matching compares), best first.
    keys: tuple[str, ...]
    #: The first spelling that gave each key (aligned with ``keys``).
    key_spellings: tuple[str, ...]
    #: (key, spelling) of the first :data:`HANDLE_KEYS` keys of two letters or more: what is compared
    #: with a handle.
    handle_keys: tuple[tuple[str, str], ...]


class NameReading(NamedTuple):
    text: str
    tokens: tuple[TokenReading, ...]
    #: The script with most letters (``NONE`` when the name has no letters, e.g. emoji only).
    script: Script
    #: More than one matchable script among the words.
    mixed: bool
    #: Words in scripts we cannot read (counted, not matched).
    unreadable: int
    truncated: bool

    @property
    def romanised(self) -> str:
        return " ".join(t.variants[0] for t in self.tokens)


_RUN_PATTERNS = {
    Script.LATIN: r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff][A-Za-z\u00c0-\u024f\u1e00-\u1eff\u0300-\u036f]*",
    Script.DEVANAGARI: r"[\u0900-\u097f\ua8e0-\ua8ff][\u0900-\u097f\ua8e0-\ua8ff\u200c\u200d]*",
    **{
        script: f"[\\u{base:04x}-\\u{base + 127:04x}][\\u{base:04x}-\\u{base + 127:04x}\\u200c\\u200d]*"
        for script, base in BRAHMIC_BASE.items()
        if script is not Script.DEVANAGARI
    },
    Script.URDU: r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]+",
    Script.OTHER: r"[^\W\d_]+",
}
_RUNS = re.compile("|".join(f"(?P<{script.name}>{pattern})" for script, pattern in _RUN_PATTERNS.items()))
_SCRIPT_OF_GROUP = {script.name: script for script in _RUN_PATTERNS}
_ASCII_WORDS = re.compile(r"[A-Za-z]+")
#: ``str.translate`` table deleting the characters of the Urdu runs that are not Urdu letters (Arabic-Indic
#: digits, punctuation…): what ``char_script(ch) is Script.URDU`` keeps, for the code points ``_RUNS`` puts
#: in an Urdu run.
_URDU_NON_LETTERS = {
    cp: None
    for first, last in ((0x0600, 0x06FF), (0x0750, 0x077F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
    for cp in range(first, last + 1)
    if char_script(chr(cp)) is not Script.URDU
}


#: Enum members read per name, as module constants: on Python 3.11 ``Script.X`` goes through
#: ``EnumType.__getattr__``, about ten times the cost of reading a global.
_LATIN, _URDU, _NONE = Script.LATIN, Script.URDU, Script.NONE
_MATCHABLE = frozenset(MATCHABLE_SCRIPTS)


def split_words(text: str) -> list[tuple[str, Script]]:
    """Words with their scripts: a change of script, a space, punctuation, digits or emoji ends a word."""
    if text.isascii():
        return [(word, _LATIN) for word in _ascii_words(text)]
    # No word contains white space (none of _RUNS' classes does), so the text's words are its chunks'
    # words; chunks ("Kumar", "कुमार", "🙏") repeat across names far more than whole names do.
    words: list[tuple[str, Script]] = []
    for chunk in text.split():
        words += _chunk_words(chunk)
    return words


@lru_cache(maxsize=65_536)
def _chunk_words(chunk: str) -> tuple[tuple[str, Script], ...]:
    """:func:`split_words` of text without white space (cached)."""
    words: list[tuple[str, Script]] = []
    script_of = _SCRIPT_OF_GROUP
    for match in _RUNS.finditer(chunk):
        script = script_of[match.lastgroup or "OTHER"]
        word = match.group()
        if script is _URDU:
            word = word.translate(_URDU_NON_LETTERS)
            if not word:
                continue
        words.append((word, script))
    return tuple(words)


def _ascii_words(text: str) -> list[str]:
    """The runs of ASCII letters of ASCII ``text``."""
    words = text.split()
    if "".join(words).isalpha():  # letters and spaces only (most names): the chunks are the words
        return words
    return _ASCII_WORDS.findall(text)


@lru_cache(maxsize=131_072)
def read_token(word: str, script: Script) -> TokenReading | None:
    """One word romanised and keyed (cached: follower lists repeat first names and surnames heavily)."""
    variants = romanise(word, script)  # not romanise_token: this function is the cache
    if not variants:
        return None
    keyed: dict[str, str] = {}
    for key, variant in zip(map(cached_phonetic_key, variants), variants, strict=True):
        keyed.setdefault(key, variant)
    handle_keys = tuple((key, spelling) for key, spelling in list(keyed.items())[:HANDLE_KEYS] if len(key) >= 2)
    fields = (word, script, variants, tuple(keyed), tuple(keyed.values()), handle_keys)
    return tuple.__new__(TokenReading, fields)  # TokenReading(*fields) without its Python-level __new__


def clear_caches() -> None:
    read_token.cache_clear()
    _chunk_words.cache_clear()


def read_name(text: str) -> NameReading:
    """Read ``text`` (a full name) into romanised tokens. Never raises; odd input gives no tokens."""
    truncated = len(text) > MAX_NAME_CHARS
    if truncated:
        text = text[:MAX_NAME_CHARS]
    if text.isascii():  # the common case, in short: Latin words only
        words = _ascii_words(text)
        tokens = tuple(map(read_token, words[:MAX_WORDS], repeat(_LATIN)))
        if None in tokens:  # cannot happen (ASCII letters always fold to something); kept for safety
            tokens = tuple(t for t in tokens if t is not None)
        # tuple.__new__: the NamedTuple without its Python-level __new__ (half the cost, the same object)
        return tuple.__new__(NameReading, (text, tokens, _LATIN if words else _NONE, False, 0, truncated))
    tokens_list: list[TokenReading] = []
    unreadable = 0
    letters: dict[Script, int] = {}
    for word, script in split_words(text):
        if script not in _MATCHABLE:
            unreadable += 1
            continue
        letters[script] = letters.get(script, 0) + len(word)
        if len(tokens_list) >= MAX_WORDS:
            continue
        token = read_token(word, script)
        if token is not None:
            tokens_list.append(token)
    if letters:
        script = max(letters, key=letters.__getitem__)  # ties: the script seen first
    elif unreadable:
        script = Script.OTHER
    else:
        script = Script.NONE
    return NameReading(text, tuple(tokens_list), script, len(letters) > 1, unreadable, truncated)
