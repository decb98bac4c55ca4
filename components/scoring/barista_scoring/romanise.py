# ruff: noqa: RUF001 (Urdu letters in string literals are meant)
"""Romanise names from the ten Indic scripts the way people type them in handles.

Scholarly transliteration (IAST, ITRANS) is not what people type: Tamil சுரேஷ் is "suresh" in a
handle, not "cureṣ" or "jhureSh". This module reads a name the way a speaker would and produces the
romanisations people actually use, best first:

* the nine Brahmic scripts share one (ISCII) block layout, so every letter is read by its offset in
  its block; each script then has its own habits: schwa deletion in the north (राम → "ram",
  कमला → "kamla"/"kamala"), kept final vowels in Telugu and Kannada (రామ → "rama"), Tamil voicing by
  position (முருகன் → "murugan"), Tamil/Malayalam த/ത → "th", Bengali ব → "b" and অ → "a"/"o",
  Malayalam chillus and ശ്രീ → "sree", Gurmukhi tippi and addak;
* every letter offers the spellings people use with a small penalty for the rarer ones: aspirates
  with and without ``h`` (bh/b), vowel length (ee/i, oo/u, aa/a), doubled letters (dd/d), sh/s, v/w,
  ksh/x, gy/gn; a beam keeps the best few combinations;
* Urdu writes few vowels: it is read to a consonant skeleton (محمد → "mhmd") plus long vowels and
  the names DB restores the vowels (see :mod:`barista_scoring.namesdb`).

:func:`phonetic_key` folds the remaining differences (aspirates, vowel length, doubles, w/v, z/j) so
that a reading and a handle can be compared with one fuzzy match.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from barista_scoring.script import BRAHMIC_BASE, Script, char_script

#: How many romanisations to keep per token (best first).
MAX_VARIANTS = 8
_BEAM = 24
_MAX_PENALTY = 4

Alt = tuple[tuple[str, int], ...]  # (spelling, penalty) pairs, best first

# ---- letters, by offset in the (ISCII-parallel) Brahmic block ----------------------------------------

_CONSONANTS: dict[int, Alt] = {
    0x15: (("k", 0),),
    0x16: (("kh", 0), ("k", 1)),
    0x17: (("g", 0),),
    0x18: (("gh", 0), ("g", 1)),
    0x19: (("n", 0), ("ng", 1)),
    0x1A: (("ch", 0), ("c", 2)),
    0x1B: (("chh", 0), ("ch", 1)),
    0x1C: (("j", 0),),
    0x1D: (("jh", 0), ("j", 1)),
    0x1E: (("n", 0), ("ny", 1)),
    0x1F: (("t", 0),),
    0x20: (("th", 0), ("t", 1)),
    0x21: (("d", 0),),
    0x22: (("dh", 0), ("d", 1)),
    0x23: (("n", 0),),
    0x24: (("t", 0), ("th", 1)),
    0x25: (("th", 0), ("t", 1)),
    0x26: (("d", 0), ("dh", 2)),
    0x27: (("dh", 0), ("d", 1)),
    0x28: (("n", 0),),
    0x29: (("n", 0),),
    0x2A: (("p", 0),),
    0x2B: (("ph", 0), ("f", 1), ("p", 2)),
    0x2C: (("b", 0),),
    0x2D: (("bh", 0), ("b", 1)),
    0x2E: (("m", 0),),
    0x2F: (("y", 0),),
    0x30: (("r", 0),),
    0x31: (("r", 0),),
    0x32: (("l", 0),),
    0x33: (("l", 0),),
    0x34: (("zh", 0), ("l", 1)),
    0x35: (("v", 0), ("w", 1)),
    0x36: (("sh", 0), ("s", 1)),
    0x37: (("sh", 0), ("s", 1)),
    0x38: (("s", 0),),
    0x39: (("h", 0),),
    # precomposed nukta letters (Devanagari 0958-095F and their Bengali/Gurmukhi/Oriya parallels)
    0x58: (("q", 0), ("k", 1)),
    0x59: (("kh", 0), ("k", 1)),
    0x5A: (("gh", 0), ("g", 1)),
    0x5B: (("z", 0), ("j", 1)),
    0x5C: (("r", 0), ("d", 1)),
    0x5D: (("rh", 0), ("r", 1)),
    0x5E: (("f", 0), ("ph", 1)),
    0x5F: (("y", 0),),
}
#: consonant + nukta → the nukta letter
_NUKTA = {0x15: 0x58, 0x16: 0x59, 0x17: 0x5A, 0x1C: 0x5B, 0x21: 0x5C, 0x22: 0x5D, 0x2B: 0x5E, 0x2F: 0x5F,
          0x38: 0x36, 0x32: 0x33, 0x28: 0x29, 0x30: 0x31, 0x33: 0x34}  # fmt: skip
#: script-specific letters outside the shared layout, as (consonant id, virama follows)
_J = 0x100  # Bengali য / Oriya ଯ: said "j" (ya-phala after a virama: "y")
_W = 0x101  # Bengali ৱ / Oriya ୱ: "w"
_CONSONANTS[_J] = (("j", 0), ("y", 1))
_CONSONANTS[_W] = (("w", 0), ("v", 1))

_NASALS = frozenset({0x19, 0x1E, 0x23, 0x28, 0x29, 0x2E})
_LABIALS = frozenset({0x2A, 0x2B, 0x2C, 0x2D, 0x2E})

# vowel ids
_A, _AA, _I, _II, _U, _UU, _RI, _E, _AI, _O, _AU = range(11)
_INDEPENDENT_VOWELS = {
    0x05: _A, 0x06: _AA, 0x07: _I, 0x08: _II, 0x09: _U, 0x0A: _UU, 0x0B: _RI, 0x60: _RI,
    0x0D: _E, 0x0E: _E, 0x0F: _E, 0x10: _AI, 0x11: _O, 0x12: _O, 0x13: _O, 0x14: _AU,
}  # fmt: skip
_MATRAS = {
    0x3E: _AA, 0x3F: _I, 0x40: _II, 0x41: _U, 0x42: _UU, 0x43: _RI, 0x44: _RI,
    0x45: _E, 0x46: _E, 0x47: _E, 0x48: _AI, 0x49: _O, 0x4A: _O, 0x4B: _O, 0x4C: _AU,
    0x56: _AI, 0x57: _AU,
}  # fmt: skip
_VIRAMA = 0x4D
_NUKTA_SIGN = 0x3C
_ANUSVARA = 0x02
_CANDRABINDU = 0x01
_VISARGA = 0x03
_TIPPI, _ADDAK, _IRI, _URA = 0x70, 0x71, 0x72, 0x73  # Gurmukhi
#: Malayalam chillus (and dot reph) → consonant with virama
_CHILLU = {0x7A: 0x23, 0x7B: 0x28, 0x7C: 0x30, 0x7D: 0x32, 0x7E: 0x33, 0x7F: 0x15, 0x54: 0x2E, 0x55: 0x2F,
           0x56: 0x34, 0x4E: 0x30}  # fmt: skip

#: Scripts read once per letter or word, as module constants: on Python 3.11 ``Script.X`` goes through
#: ``EnumType.__getattr__``, about ten times the cost of reading a global.
_LATIN_SCRIPT, _URDU_SCRIPT, _BENGALI = Script.LATIN, Script.URDU, Script.BENGALI
_TAMIL, _MALAYALAM = Script.TAMIL, Script.MALAYALAM

_NORTH = frozenset({Script.DEVANAGARI, Script.BENGALI, Script.GURMUKHI, Script.GUJARATI, Script.ORIYA})
_EASTERN = frozenset({Script.BENGALI, Script.ORIYA})
#: Scripts whose word-final anusvara is said "m"
_FINAL_M = frozenset({Script.MALAYALAM, Script.TAMIL, Script.TELUGU, Script.KANNADA})
#: Scripts that say a word's final inherent vowel (రామ → "rama")
_SOUTH = frozenset({Script.TELUGU, Script.KANNADA, Script.MALAYALAM, Script.TAMIL})


@dataclass(slots=True)
class _Akshara:
    """One written syllable: a consonant cluster (maybe empty) and its vowel."""

    consonants: list[int]
    vowel: int | None = None  # None: the inherent vowel; -1: killed by a virama
    independent: bool = False
    nasal: int = 0  # 0 none, 1 anusvara/tippi, 2 candrabindu
    visarga: bool = False
    geminate_next: bool = False  # Gurmukhi addak


def _tokens_of(text: str, script: Script) -> list[tuple[str, int]]:
    """(kind, value) for each meaningful letter of a Brahmic-script token."""
    base = BRAHMIC_BASE[script]
    letters = _LETTERS[script]
    out: list[tuple[str, int]] = []
    for ch in text:
        out += letters.get(ord(ch) - base, ())
    return out


def _read_letter(off: int, script: Script) -> tuple[tuple[str, int], ...]:
    """(kind, value) of the letter at offset ``off`` of ``script``'s block: nothing for signs that only
    shape the text."""
    if script is Script.MALAYALAM and off in _CHILLU:
        return (("C", _CHILLU[off]), ("X", 0))
    if script in _EASTERN and off == 0x2F:
        return (("C", _J),)
    if script in _EASTERN and off == 0x71:
        return (("C", _W),)
    if script is Script.BENGALI and off == 0x4E:  # ৎ khanda ta
        return (("C", 0x24), ("X", 0))
    if script is Script.GURMUKHI and off in (_TIPPI, _ADDAK, _IRI, _URA):
        return ({_TIPPI: ("N", 1), _ADDAK: ("G", 0), _IRI: ("B", _I), _URA: ("B", _U)}[off],)
    if off in _CONSONANTS:
        return (("C", off),)
    if off in _INDEPENDENT_VOWELS:
        return (("V", _INDEPENDENT_VOWELS[off]),)
    if off in _MATRAS:
        return (("M", _MATRAS[off]),)
    if off == _VIRAMA:
        return (("X", 0),)
    if off == _NUKTA_SIGN:
        return (("K", 0),)
    if off in (_ANUSVARA, _CANDRABINDU):
        return (("N", 1 if off == _ANUSVARA else 2),)
    if off == _VISARGA:
        return (("H", 0),)
    return ()


def _letter_table(script: Script) -> dict[int, tuple[tuple[str, int], ...]]:
    """What each offset of ``script``'s block reads as (offsets that mean nothing are absent)."""
    table = {off: _read_letter(off, script) for off in range(0x80)}
    return {off: kinds for off, kinds in table.items() if kinds}


_LETTERS = {script: _letter_table(script) for script in BRAHMIC_BASE}


def _aksharas(tokens: list[tuple[str, int]]) -> list[_Akshara]:
    result: list[_Akshara] = []
    current: _Akshara | None = None
    pending_virama = False
    geminate = False
    for kind, value in tokens:
        if kind == "C":
            if current is not None and pending_virama and current.vowel == -1:
                current.consonants.append(value)  # conjunct: C + virama + C
                current.vowel = None
            else:
                current = _Akshara([value])
                if geminate and result:
                    result[-1].geminate_next = True
                result.append(current)
            geminate = False
            pending_virama = False
        elif kind == "K" and current is not None and current.consonants:
            last = current.consonants[-1]
            current.consonants[-1] = _NUKTA.get(last, last)
        elif kind == "X" and current is not None and current.consonants:
            current.vowel = -1
            pending_virama = True
        elif kind == "M":
            if current is not None and current.vowel is None:
                current.vowel = value
            elif current is not None and current.independent and current.vowel is not None and not current.consonants:
                current.vowel = value  # Gurmukhi bearer + vowel sign
            else:  # a stray vowel sign: read it as a vowel
                current = _Akshara([], value, independent=True)
                result.append(current)
            pending_virama = False
        elif kind in ("V", "B"):
            current = _Akshara([], value, independent=True)
            result.append(current)
            pending_virama = False
        elif kind == "N" and current is not None:
            current.nasal = value
        elif kind == "H" and current is not None:
            current.visarga = True
        elif kind == "G":
            geminate = True
    return result


def _vowel_alts(vowel: int, *, final: bool, script: Script) -> Alt:
    if vowel == _A:
        return (("a", 0), ("o", 1)) if script in _EASTERN else (("a", 0),)
    if vowel == _AA:
        return (("a", 0), ("aa", 1))
    if vowel == _I:
        return (("i", 0), ("ee", 2))
    if vowel == _II:
        return (("i", 0), ("ee", 1)) if final else (("ee", 0), ("i", 1))
    if vowel == _U:
        return (("u", 0), ("oo", 2))
    if vowel == _UU:
        return (("u", 0), ("oo", 1)) if final else (("oo", 0), ("u", 1))
    if vowel == _RI:
        return (("ri", 0), ("ru", 1), ("r", 2))
    if vowel == _E:
        return (("e", 0), ("ee", 2))
    if vowel == _AI:
        return (("ai", 0), ("ei", 1), ("e", 2), ("ay", 2))
    if vowel == _O:
        return (("o", 0), ("oo", 2))
    return (("au", 0), ("ou", 1), ("o", 2))


#: _vowel_alts by (vowel, final, eastern script or not: all it reads of the script), one look-up per
#: syllable instead of a call.
_VOWEL_ALTS = {
    (vowel, final, eastern): _vowel_alts(vowel, final=final, script=Script.BENGALI if eastern else Script.DEVANAGARI)
    for vowel in range(_AU + 1)
    for final in (False, True)
    for eastern in (False, True)
}


def _cluster_alts(
    cons: list[int], *, script: Script, prev_vowel: bool, initial: bool, final: bool = False
) -> list[Alt]:
    """Spellings of a consonant cluster, letter by letter (with the few conjuncts spelt as a whole)."""
    out: list[Alt] = []
    i = 0
    while i < len(cons):
        c = cons[i]
        nxt = cons[i + 1] if i + 1 < len(cons) else None
        if c == 0x15 and nxt == 0x37:  # क्ष
            out.append((("ksh", 0), ("x", 1), ("kh", 2), ("ksh", 0)))
            i += 2
            continue
        if c == 0x1C and nxt == 0x1E:  # ज्ञ
            out.append((("gy", 0), ("gn", 1), ("jn", 1), ("dny", 2)))
            i += 2
            continue
        if c == 0x31 and nxt == 0x31:  # Tamil ற்ற / Malayalam റ്റ
            out.append((("tt", 0), ("t", 1)) if script is _MALAYALAM else (("tr", 0), ("tt", 1), ("rr", 2)))
            i += 2
            continue
        if c in (0x28, 0x29) and nxt == 0x31:  # ன்ற / ന്റ
            out.append((("nt", 0), ("nd", 1)) if script is _MALAYALAM else (("ndr", 0), ("nr", 1)))
            i += 2
            continue
        if c in _SCRIPT_SPECIFIC:
            alts = _consonant_alts(c, script=script, at_start=initial and i == 0, prev_vowel=prev_vowel and i == 0,
                                   after=cons[i - 1] if i else None, final=final and nxt is None)  # fmt: skip
        else:  # the same in every script (most letters): no call
            alts = _CONSONANTS[c]
        if nxt == c:  # doubled letter: "kk", "nn"; aspirates are mostly written once: "karthik", "ajith"
            if script is _TAMIL and c == 0x1A:
                out.append((("ch", 0), ("cch", 1), ("chch", 2)))
            else:
                first = alts[0][0]
                if first.endswith("h") and len(first) > 1:
                    out.append(((first, 0), (first[0] + first, 1), (first[0] * 2, 2)))
                else:
                    out.append(((first[0] + first, 0), (first, 1)))
            i += 2
            continue
        if c == 0x35 and i > 0:  # व after a consonant: sw, dw
            alts = (("w", 0), ("v", 1))
        if c == 0x2C and i > 0 and script in _EASTERN:  # Bengali/Oriya ba-phala: biswas, biswanath
            alts = (("w", 0), ("", 1), ("b", 2))
        if c == _J and i > 0:  # Bengali/Oriya ya-phala
            alts = (("y", 0), ("", 1))
        out.append(alts)
        i += 1
    return out


def _consonant_alts(
    c: int, *, script: Script, at_start: bool, prev_vowel: bool, after: int | None, final: bool = False
) -> Alt:
    if c not in _SCRIPT_SPECIFIC:
        return _CONSONANTS[c]
    if script is _TAMIL:
        tamil = _tamil_consonant(c, at_start=at_start, prev_vowel=prev_vowel and not final, after=after)
        if tamil is not None:
            return tamil
    if (script is _TAMIL or script is _MALAYALAM) and c == 0x24:  # த / ത: "th"
        return (("th", 0), ("t", 1), ("d", 2))
    if script in _EASTERN and c == 0x2C:  # ব / ବ: b, sometimes v
        return (("b", 0), ("v", 1))
    if script is _BENGALI and c == 0x2D:  # ভ: bh, and v in names (sourav, gourav)
        return (("bh", 0), ("v", 1), ("b", 2))
    return _CONSONANTS[c]


#: The consonants whose spelling depends on the script (the others read the same in every script).
_SCRIPT_SPECIFIC = frozenset({0x15, 0x1A, 0x1F, 0x24, 0x2A, 0x2C, 0x2D})


def _tamil_consonant(c: int, *, at_start: bool, prev_vowel: bool, after: int | None) -> Alt | None:
    """Tamil writes voiced and unvoiced stops alike: position decides (murugan, vasanth, anand)."""
    if c not in (0x15, 0x1A, 0x1F, 0x24, 0x2A):
        return None
    if at_start:
        return {0x15: (("k", 0), ("g", 2)), 0x1A: (("s", 0), ("ch", 1), ("c", 2)), 0x1F: (("t", 0), ("d", 1)),
                0x24: (("th", 0), ("t", 1)), 0x2A: (("p", 0), ("b", 2))}[c]  # fmt: skip
    if after in _NASALS:
        return {0x15: (("g", 0), ("k", 1)), 0x1A: (("j", 0), ("ch", 1), ("s", 2)), 0x1F: (("d", 0), ("t", 1)),
                0x24: (("th", 0), ("d", 1), ("dh", 2)), 0x2A: (("b", 0), ("p", 1))}[c]  # fmt: skip
    if prev_vowel:
        return {0x15: (("g", 0), ("k", 1), ("h", 2)), 0x1A: (("s", 0), ("ch", 1)), 0x1F: (("d", 0), ("t", 1)),
                0x24: (("th", 0), ("dh", 1), ("d", 2)), 0x2A: (("p", 0), ("b", 1))}[c]  # fmt: skip
    return {0x15: (("k", 0), ("g", 1)), 0x1A: (("ch", 0), ("s", 1)), 0x1F: (("t", 0), ("d", 1)),
            0x24: (("th", 0), ("t", 1)), 0x2A: (("p", 0), ("b", 1))}[c]  # fmt: skip


def _schwa_deleted(aks: list[_Akshara], script: Script) -> list[bool]:
    """Which inherent vowels a northern speaker drops (right to left: V C a C V → V C C V)."""
    deleted = [False] * len(aks)
    if script not in _NORTH:
        return deleted
    for i in range(len(aks) - 1, -1, -1):
        ak = aks[i]
        if ak.vowel is not None or ak.independent or not ak.consonants:
            continue
        if i == len(aks) - 1:
            deleted[i] = len(ak.consonants) == 1 and not ak.nasal
            continue
        prev_has_vowel = i > 0 and (aks[i - 1].vowel != -1) and not deleted[i - 1]
        nxt = aks[i + 1]
        next_has_vowel = nxt.consonants and nxt.vowel != -1 and not deleted[i + 1]
        if len(nxt.consonants) > 1 and nxt.consonants[0] == nxt.consonants[1]:
            continue  # jaga-nnath: a vowel before a doubled letter stays
        if prev_has_vowel and next_has_vowel and len(ak.consonants) == 1 and not ak.nasal:
            deleted[i] = True
    return deleted


def _brahmic_segments(token: str, script: Script) -> list[Alt]:
    aks = _aksharas(_tokens_of(token, script))
    if not aks:
        return []
    deleted = _schwa_deleted(aks, script)
    south_keeps_final = script in _SOUTH
    eastern = script in _EASTERN
    segments: list[Alt] = []
    for i, ak in enumerate(aks):
        final = i == len(aks) - 1
        prev_vowel = i > 0 and aks[i - 1].vowel != -1
        if ak.consonants:
            if len(ak.consonants) == 1 and ak.consonants[0] not in _SCRIPT_SPECIFIC:  # most syllables: no call
                cluster = [_CONSONANTS[ak.consonants[0]]]
            else:
                cluster = _cluster_alts(
                    ak.consonants, script=script, prev_vowel=prev_vowel, initial=i == 0, final=final and ak.vowel == -1
                )
            if i > 0 and aks[i - 1].geminate_next:  # Gurmukhi addak: the next letter is doubled
                spelled = cluster[0][0][0]
                cluster[0] = ((spelled[:1] + spelled, 0), (spelled, 1))
            segments += cluster
        if ak.vowel == -1:
            pass
        elif ak.vowel is None:  # inherent vowel
            if final and len(ak.consonants) == 1 and not ak.nasal:
                if south_keeps_final:
                    segments.append((("a", 0), ("", 1)))
                elif eastern:
                    segments.append((("", 0), ("a", 1), ("o", 2)))
                else:
                    segments.append((("", 0), ("a", 1)))
            elif final and not ak.nasal:
                segments.append((("a", 0), ("", 1)))
            elif deleted[i]:
                segments.append((("", 0), ("a", 1)))
            else:
                segments.append(_VOWEL_ALTS[_A, final, eastern])
        else:
            segments.append(_VOWEL_ALTS[ak.vowel, final, eastern])
        if ak.nasal:
            nxt = aks[i + 1] if i + 1 < len(aks) else None
            if ak.nasal == 2:
                segments.append((("n", 0), ("", 1)))
            elif nxt is not None and nxt.consonants and nxt.consonants[0] == 0x39:  # सिंह → singh
                segments.append((("ng", 0), ("n", 1), ("m", 2)))
            elif (nxt is not None and nxt.consonants and nxt.consonants[0] in _LABIALS) or (
                nxt is None and script in _FINAL_M
            ):
                segments.append((("m", 0), ("n", 1)))
            else:
                segments.append((("n", 0), ("m", 1)))
        if ak.visarga:
            segments.append((("h", 0), ("", 1)))
    return segments


# ---- Urdu ----------------------------------------------------------------------------------------------

_URDU: dict[str, Alt] = {
    "ا": (("a", 0),), "آ": (("aa", 0), ("a", 0)), "أ": (("a", 0),), "إ": (("i", 0),),
    "ب": (("b", 0),), "پ": (("p", 0),), "ت": (("t", 0),), "ٹ": (("t", 0),), "ث": (("s", 0),),
    "ج": (("j", 0),), "چ": (("ch", 0),), "ح": (("h", 0), ("", 2)), "خ": (("kh", 0),), "د": (("d", 0),),
    "ڈ": (("d", 0),), "ذ": (("z", 0),), "ر": (("r", 0),), "ڑ": (("r", 0),), "ز": (("z", 0),), "ژ": (("zh", 0),),
    "س": (("s", 0),), "ش": (("sh", 0),), "ص": (("s", 0),), "ض": (("z", 0),), "ط": (("t", 0),), "ظ": (("z", 0),),
    "ع": (("", 0), ("a", 1)), "غ": (("gh", 0),), "ف": (("f", 0),), "ق": (("q", 0), ("k", 1)), "ک": (("k", 0),),
    "ك": (("k", 0),), "گ": (("g", 0),), "ل": (("l", 0),), "م": (("m", 0),), "ن": (("n", 0),), "ں": (("n", 0),),
    "ه": (("h", 0),), "ہ": (("h", 0),), "ۃ": (("a", 0),), "ة": (("a", 0),), "ھ": (("h", 0),), "ء": (("", 0),),
    "ئ": (("", 0), ("y", 1)), "ۓ": (("e", 0),), "ے": (("e", 0),), "ۂ": (("h", 0),),
}  # fmt: skip
_URDU_HARAKAT = {"\u064e": "a", "\u0650": "i", "\u064f": "u"}


def _urdu_segments(token: str) -> list[Alt]:
    letters = [ch for ch in unicodedata.normalize("NFC", token) if char_script(ch) is _URDU_SCRIPT]
    segments: list[Alt] = []
    for i, ch in enumerate(letters):
        first, last = i == 0, i == len(letters) - 1
        if ch in _URDU_HARAKAT:
            segments.append(((_URDU_HARAKAT[ch], 0),))
        elif ch == "\u0651" and segments:  # shadda: double the previous letter
            prev = segments[-1][0][0]
            segments.append(((prev[-1:], 0), ("", 1)))
        elif ch in ("و", "ؤ"):
            segments.append((("w", 0), ("v", 1)) if first else (("o", 0), ("u", 1), ("oo", 2), ("w", 2)))
        elif ch in ("ی", "ي", "ى"):
            if first:
                segments.append((("y", 0),))
            elif last:
                segments.append((("i", 0), ("y", 1), ("ee", 2)))
            else:
                segments.append((("i", 0), ("ee", 1), ("e", 1), ("y", 1)))
        elif ch in ("ہ", "ه") and last and i > 0:
            segments.append((("a", 0), ("h", 1)))
        elif ch in _URDU:
            segments.append(_URDU[ch])
    return segments


# ---- public API ------------------------------------------------------------------------------------------


def _expand(segments: list[Alt]) -> tuple[str, ...]:
    """The best spellings of ``segments``: a beam of the ``_BEAM`` cheapest prefixes (ties: first made)."""
    beam: dict[str, int] = {"": 0}
    #: spellings of the one-spelling, no-penalty segments since the last choice, not yet added to the beam
    pending = ""
    most, too_much = _MAX_PENALTY, _MAX_PENALTY + 1
    for alts in segments:
        if len(alts) == 1 and alts[0][1] == 0:
            pending += alts[0][0]
            continue
        grown: dict[str, int] = {}
        get = grown.get
        for text, penalty in beam.items():
            text += pending
            for spelling, extra in alts:
                total = penalty + extra
                if total <= most:
                    candidate = text + spelling
                    if get(candidate, too_much) > total:
                        grown[candidate] = total
        pending = ""
        beam = dict(_cheapest(grown, _BEAM)) if len(grown) > _BEAM else grown
    # one more than kept: the empty spelling, if it is among them, is dropped
    best = sorted(beam, key=beam.__getitem__)[: MAX_VARIANTS + 1]  # cheapest first, ties in insertion order
    if pending:
        best = [text + pending for text in best]
    elif "" in best:
        best.remove("")
    return tuple(best[:MAX_VARIANTS])


def _cheapest(spellings: dict[str, int], n: int) -> list[tuple[str, int]]:
    """The ``n`` cheapest items, cheapest first, ties in insertion order (``sorted`` is stable)."""
    return sorted(spellings.items(), key=_PENALTY)[:n]


_PENALTY = operator.itemgetter(1)


_LATIN_JUNK = re.compile(r"[^a-z]")


def fold_latin(token: str) -> str:
    """Lowercase ASCII letters of a Latin-script token, accents removed (José → jose)."""
    if token.isascii() and token.isalpha():  # nothing to decompose or drop (most tokens)
        return token.lower()
    decomposed = unicodedata.normalize("NFKD", token.lower())
    return _LATIN_JUNK.sub("", decomposed.encode("ascii", "ignore").decode())


@lru_cache(maxsize=65_536)
def romanise_token(token: str, script: Script) -> tuple[str, ...]:
    """Romanisations of one word in ``script``, most common spelling first (empty if none). Cached."""
    return romanise(token, script)


def romanise(token: str, script: Script) -> tuple[str, ...]:
    """:func:`romanise_token` without its cache (for callers that cache their own results)."""
    if script is _LATIN_SCRIPT:
        folded = fold_latin(token)
        return (folded,) if folded else ()
    if script is _URDU_SCRIPT:
        return _expand(_urdu_segments(token))
    if script in BRAHMIC_BASE:
        return _expand(_brahmic_segments(unicodedata.normalize("NFC", token), script))
    return ()


# ---- phonetic key --------------------------------------------------------------------------------------

_KEY_MAP = {
    "chh": "c", "ch": "c", "sh": "s", "ph": "f", "kh": "k", "gh": "g", "jh": "j", "th": "t", "dh": "d",
    "bh": "b", "zh": "l", "aa": "a", "ee": "i", "ii": "i", "oo": "u", "uu": "u", "ou": "o", "au": "o",
    "w": "v", "z": "j", "x": "ks", "q": "k", "c": "k", "y": "i",
}  # fmt: skip
_KEY_RE = re.compile("|".join(sorted(_KEY_MAP, key=len, reverse=True)))
#: An "h" after a consonant (the "h" first, then the look-behind: the search skips to each "h" instead of
#: trying the look-behind at every position).
_KEY_H = re.compile(r"h(?<=[bcdfgjklmnpqrstvz]h)")
#: Each letter followed by the same letter (removing them leaves one of each run; a plain-string
#: replacement keeps ``sub`` in C, where a ``\\1`` template would call back into Python per match; a
#: look-ahead is tried faster than a look-behind).
_KEY_DOUBLE = re.compile(r"(.)(?=\1)")


def phonetic_key(latin: str) -> str:
    """Fold spelling variation of a lowercase ASCII string: suresh, sooresh, sures → "sures"."""
    text = _KEY_RE.sub(_key_of_match, latin)
    if "h" in text:  # most keys have none left: skip the pattern's call
        text = _KEY_H.sub("", text)
    return _KEY_DOUBLE.sub("", text)


#: :func:`phonetic_key`, cached: the same spellings come back from handles and from the romanisations of
#: names in every script ("suresh" from सुरेश, சுரேஷ், Suresh and suresh_92).
cached_phonetic_key = lru_cache(maxsize=131_072)(phonetic_key)


def clear_caches() -> None:
    romanise_token.cache_clear()
    cached_phonetic_key.cache_clear()


def _key_of_match(match: re.Match[str]) -> str:
    return _KEY_MAP[match[0]]


_VOWELS = re.compile(r"[aeiou]")


def skeleton(latin: str) -> str:
    """Folded consonants only, for scripts that do not write short vowels: muhammad, mhmd → "mhmd"."""
    text = _KEY_RE.sub(_key_of_match, latin)
    return _KEY_DOUBLE.sub("", _VOWELS.sub("", text))
