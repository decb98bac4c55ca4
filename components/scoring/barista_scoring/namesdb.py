"""The names DB: exact, phonetic and fuzzy look-ups of first names and surnames.

The data (``data/names.tsv.gz``, ~168K names) is built by ``scripts/build_names_db.py`` from
gender-guesser's dictionary, the US Census name files and the SSA baby names; see
``data/PROVENANCE.md``. Look-ups go from cheap to dear and stop at the first hit:

1. exact: a romanisation is a known name (a set look-up, ~0.05 µs);
2. phonetic: its phonetic key is the key of a known name ("sooresh" → suresh);
3. skeleton (Urdu, whose script leaves short vowels out, goes here first): "slmn" → salman;
4. fuzzy: rapidfuzz over the names whose key starts with the same two letters and has a similar
   length (tens to a few thousand candidates instead of 168K), cut off at 85. A letter-count filter
   (numpy, over the whole window at once) first drops the candidates that cannot reach the cut-off,
   so rapidfuzz compares a handful instead of hundreds; the answer is the same (see :meth:`NamesDB.fuzzy`).

Results are cached per token: follower lists repeat names heavily.
"""

from __future__ import annotations

import gc
import gzip
from collections.abc import Iterable
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
from rapidfuzz import fuzz, process

from barista_scoring.names import TokenReading
from barista_scoring.romanise import skeleton
from barista_scoring.script import Script

Role = Literal["first", "last"]
FUZZY_CUTOFF = 85.0
_CACHE_LIMIT = 200_000
#: Windows smaller than this are compared with rapidfuzz directly (the numpy filter costs more).
_FILTER_FROM = 48


class MatchKind(StrEnum):
    EXACT = "exact"
    OTHER_ROLE = "exact, other role"  # a surname used as a first name or the other way round
    PHONETIC = "phonetic"
    SKELETON = "skeleton"
    FUZZY = "fuzzy"
    NONE = "none"


#: How much each kind of match counts as evidence of a real name (the feature's value).
MATCH_SCORE = {
    MatchKind.EXACT: 1.0,
    MatchKind.OTHER_ROLE: 0.9,
    MatchKind.PHONETIC: 0.85,
    MatchKind.SKELETON: 0.8,
    MatchKind.FUZZY: 0.6,
    MatchKind.NONE: 0.0,
}


class NameMatch(NamedTuple):
    kind: MatchKind
    #: The DB name matched ("" when none).
    name: str
    #: 0-1: how much this counts as a known name.
    score: float
    india: bool = False


NO_MATCH = NameMatch(MatchKind.NONE, "", 0.0)

#: Read per look-up, as module constants: on Python 3.11 ``MatchKind.X`` and ``Script.X`` go through
#: ``EnumType.__getattr__``, about ten times the cost of reading a global.
_EXACT, _OTHER_ROLE, _PHONETIC = MatchKind.EXACT, MatchKind.OTHER_ROLE, MatchKind.PHONETIC
_SKELETON, _FUZZY = MatchKind.SKELETON, MatchKind.FUZZY
_URDU = Script.URDU


class NameRecord(NamedTuple):
    weight: int
    india: int
    arabia: int
    first: bool
    last: bool
    key: str
    skeleton: str


class NamesDB:
    """Known first names and surnames with phonetic, skeleton and fuzzy indexes."""

    def __init__(self, records: dict[str, NameRecord]) -> None:
        self.records = records
        self.first = frozenset(n for n, r in records.items() if r.first)
        self.last = frozenset(n for n, r in records.items() if r.last)
        # most popular first (names listed for India before others): the first name with a key owns it
        ranked = sorted(records, key=lambda n: (records[n].india > 0) * 10 + records[n].weight, reverse=True)
        by_key: dict[str, str] = {}
        by_skeleton: dict[str, list[str]] = {}
        for name in ranked:
            record = records[name]
            by_key.setdefault(record.key, name)
            by_skeleton.setdefault(record.skeleton, []).append(name)
        by_key.pop("", None)
        by_skeleton.pop("", None)
        buckets: dict[tuple[str, int], list[str]] = {}
        rows: dict[tuple[str, int], list[int]] = {}
        for row, key in enumerate(by_key):
            buckets.setdefault((key[:2], len(key)), []).append(key)
            rows.setdefault((key[:2], len(key)), []).append(row)
        masks = letter_masks(list(by_key))
        self.by_key = by_key
        self.by_skeleton = by_skeleton
        self._buckets = buckets
        self._bucket_masks = {bucket: masks[np.array(r, dtype=np.intp)] for bucket, r in rows.items()}
        #: (first two letters, length) → (candidate keys of length ±1 in bucket order, their letter counts)
        self._windows: dict[tuple[str, int], tuple[list[str], np.ndarray | None]] = {}
        #: (role, script) → token text → match (one dict per role and script: the cache keeps no tuple
        #: per token for the garbage collector to walk)
        self._cache: dict[tuple[str, Script], dict[str, NameMatch]] = {}
        #: tokens in ``_cache``
        self._cached = 0
        self._restored: dict[str, list[str]] = {}
        #: phonetic key → :meth:`fuzzy` of it (tokens in different scripts often share a key)
        self._fuzzy: dict[str, str] = {}
        #: kind → DB name → its NameMatch (the token cache holds one object per name matched)
        self._matches: dict[MatchKind, dict[str, NameMatch]] = {kind: {} for kind in MatchKind}

    def __len__(self) -> int:
        return len(self.records)

    def clear_cache(self) -> None:
        self._clear_matches()
        self._restored.clear()
        self._windows.clear()
        self._fuzzy.clear()

    def _clear_matches(self) -> None:
        self._cache.clear()
        self._cached = 0
        for by_name in self._matches.values():
            by_name.clear()

    def __contains__(self, name: object) -> bool:
        return name in self.records

    @classmethod
    def load(cls, path: Path | None = None) -> NamesDB:
        """Load the DB shipped with the package (or ``path``: the same gzip TSV format)."""
        if path is None:
            data = resources.files("barista_scoring").joinpath("data/names.tsv.gz").read_bytes()
        else:
            data = path.read_bytes()
        return cls(parse_records(gzip.decompress(data).decode().splitlines()))

    def match(self, token: TokenReading, role: Role) -> NameMatch:
        """Best evidence that ``token`` is a known ``role`` name (cached per token)."""
        cache = self._cache.get((role, token.script))
        if cache is None:
            cache = self._cache[(role, token.script)] = {}
        hit = cache.get(token.text)
        if hit is None:
            hit = self._match(token, role)
            if self._cached >= _CACHE_LIMIT:
                self._clear_matches()
                cache = self._cache[(role, token.script)] = {}
            cache[token.text] = hit
            self._cached += 1
        return hit

    def _match(self, token: TokenReading, role: Role) -> NameMatch:
        if token.script is _URDU:  # no short vowels written: restore them from the DB first
            restored = self.restore(token)
            if restored:
                return self._found(_SKELETON, restored[0])
            return NO_MATCH
        wanted = self.first if role == "first" else self.last
        for variant in token.variants:
            if variant in wanted:
                return self._found(_EXACT, variant)
        for variant in token.variants:
            if variant in self.records and len(variant) > 1:
                return self._found(_OTHER_ROLE, variant)
        for key in token.keys:
            name = self.by_key.get(key)
            if name is not None and len(key) > 1:
                return self._found(_PHONETIC, name)
        key = token.keys[0] if token.keys else ""
        if len(key) >= 4:
            name = self.fuzzy(key)
            if name:
                return self._found(_FUZZY, name)
        return NO_MATCH

    def _found(self, kind: MatchKind, name: str) -> NameMatch:
        by_name = self._matches[kind]
        found = by_name.get(name)
        if found is None:
            found = by_name[name] = NameMatch(kind, name, MATCH_SCORE[kind], india=self.records[name].india > 0)
        return found

    def restore(self, token: TokenReading) -> list[str]:
        """Names with the consonants of ``token``, closest to its spellings first (vowel restoration for
        Urdu: محمد → mhmd → muhammad, mohammed…; Perso-Arabic and Indian names win ties). Cached."""
        hit = self._restored.get(token.text)
        if hit is None:
            if len(self._restored) >= _CACHE_LIMIT:
                self._restored.clear()
            hit = self._restored[token.text] = self._restore(token)
        return hit

    def _restore(self, token: TokenReading) -> list[str]:
        scored: dict[str, float] = {}
        for variant in token.variants[:4]:
            candidates = self.by_skeleton.get(skeleton(variant))
            if not candidates:
                continue
            for name, closeness, _ in process.extract(variant, candidates, scorer=fuzz.ratio, limit=10):
                record = self.records[name]
                score = closeness + 15 * (record.arabia + record.india > 0) + record.weight
                best = scored.get(name, 0.0)
                scored[name] = score if score > best else best  # max(best, score), without the builtin's call
        return sorted(scored, key=scored.__getitem__, reverse=True)[:5]

    def fuzzy(self, key: str) -> str:
        """The known name closest to phonetic ``key`` (same first two letters, length ±1), or "".

        The best ``fuzz.ratio`` of at least :data:`FUZZY_CUTOFF` over the window (ties: the first in
        window order). ``ratio`` is ``100 · (1 - d / (len(a) + len(b)))`` with ``d`` the insert/delete
        distance. Before rapidfuzz sees the window, a filter drops the candidates that cannot reach the
        cut-off: each word is a bit mask of "has letter x at least once / at least twice" (see
        :func:`letter_mask`), one insertion or deletion flips at most one bit, so ``d`` is at least the
        number of bits two masks differ in. Candidates differing in more bits than the cut-off allows
        (plus a margin of one) are dropped: the same answer, with ~30x fewer comparisons. Cached per key.
        """
        found = self._fuzzy.get(key)
        if found is None:
            if len(self._fuzzy) >= _CACHE_LIMIT:
                self._fuzzy.clear()
            found = self._fuzzy[key] = self._closest(key)
        return found

    def _closest(self, key: str) -> str:
        window = self._windows.get((key[:2], len(key)))
        if window is None:
            window = self._window(key[:2], len(key))
        candidates, masks = window
        if masks is not None:
            most = int((1 - FUZZY_CUTOFF / 100) * (2 * len(key) + 1)) + 1
            differ = _popcount(masks ^ np.uint64(letter_mask(key)))
            candidates = [candidates[i] for i in (differ <= most).nonzero()[0].tolist()]
        if not candidates:
            return ""
        best = process.extractOne(key, candidates, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        return self.by_key[best[0]] if best else ""

    def _window(self, prefix: str, length: int) -> tuple[list[str], np.ndarray | None]:
        candidates: list[str] = []
        masks: list[np.ndarray] = []
        for n in (length - 1, length, length + 1):
            candidates += self._buckets.get((prefix, n), ())
            masks.append(self._bucket_masks.get((prefix, n), _NO_MASKS))
        window = (candidates, np.concatenate(masks) if len(candidates) >= _FILTER_FROM else None)
        self._windows[(prefix, length)] = window
        return window


_BIT = {chr(ord("a") + i): i for i in range(26)}


def letter_mask(word: str) -> int:
    """Bits 0-25: the word has letter a-z; bits 27-52: it has it twice or more (26 and 53: any other
    character once / twice or more). Inserting or deleting one character flips at most one bit."""
    mask = 0
    for ch in word:
        bit = 1 << _BIT.get(ch, 26)
        mask |= (bit << 27) if mask & bit else bit
    return mask


_NO_MASKS = np.zeros(0, dtype=np.uint64)
_ONCE = np.left_shift(np.uint64(1), np.arange(27, dtype=np.uint64))
_TWICE = np.left_shift(_ONCE, np.uint64(27))


def letter_masks(words: list[str]) -> np.ndarray:
    """:func:`letter_mask` of many words at once (numpy), as uint64."""
    if not words:
        return _NO_MASKS
    codes = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).astype(np.int64) - ord("a")
    codes[(codes < 0) | (codes > 25)] = 26
    rows = np.repeat(np.arange(len(words)), [len(w) for w in words])
    counts = np.bincount(rows * 27 + codes, minlength=len(words) * 27).reshape(len(words), 27)
    once = np.bitwise_or.reduce(np.where(counts >= 1, _ONCE, np.uint64(0)), axis=1)
    twice = np.bitwise_or.reduce(np.where(counts >= 2, _TWICE, np.uint64(0)), axis=1)
    return once | twice


if hasattr(np, "bitwise_count"):

    def _popcount(values: np.ndarray) -> np.ndarray:
        return np.bitwise_count(values)

else:  # numpy < 2.0
    _BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)

    def _popcount(values: np.ndarray) -> np.ndarray:
        return _BYTE_BITS[values.view(np.uint8).reshape(-1, 8)].sum(axis=1)


def parse_records(lines: Iterable[str]) -> dict[str, NameRecord]:
    records: dict[str, NameRecord] = {}
    for line in lines:
        if not line or line[0] == "#":
            continue
        name, roles, weight, india, arabia, _sources, key, bones = line.split("\t")
        records[name] = NameRecord(int(weight), int(india), int(arabia), "f" in roles, "l" in roles, key, bones)
    return records


_default: NamesDB | None = None


def default_db() -> NamesDB:
    """The packaged names DB, loaded once per process (~1 s, ~60 MB)."""
    global _default
    if _default is None:
        _default = NamesDB.load()
        # ~1M long-lived objects: move them out of the collector's way, or every full collection
        # walks them (it made scoring ~1.5x slower)
        gc.freeze()
    return _default
