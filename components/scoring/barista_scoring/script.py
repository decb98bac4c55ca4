"""Which writing system a piece of text is in (Unicode blocks, no heuristics beyond counting letters).

The ten Indic scripts of the scoring component plus Latin; everything else is ``OTHER`` (Cyrillic, Han,
Sinhala…) and text without letters (emoji, digits, punctuation) is ``NONE``.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum


class Script(StrEnum):
    LATIN = "latin"
    DEVANAGARI = "devanagari"
    BENGALI = "bengali"
    GURMUKHI = "gurmukhi"
    GUJARATI = "gujarati"
    ORIYA = "oriya"
    TAMIL = "tamil"
    TELUGU = "telugu"
    KANNADA = "kannada"
    MALAYALAM = "malayalam"
    URDU = "urdu"
    OTHER = "other"
    NONE = "none"


#: The ten Indic scripts, in Unicode block order (Urdu last: it is Perso-Arabic).
INDIC_SCRIPTS: tuple[Script, ...] = (
    Script.DEVANAGARI,
    Script.BENGALI,
    Script.GURMUKHI,
    Script.GUJARATI,
    Script.ORIYA,
    Script.TAMIL,
    Script.TELUGU,
    Script.KANNADA,
    Script.MALAYALAM,
    Script.URDU,
)
#: Scripts a name can be matched in: the ten Indic ones and Latin.
MATCHABLE_SCRIPTS: tuple[Script, ...] = (Script.LATIN, *INDIC_SCRIPTS)

#: First code point of each Brahmic block; every block is 128 code points in the same (ISCII) layout.
BRAHMIC_BASE: dict[Script, int] = {
    Script.DEVANAGARI: 0x0900,
    Script.BENGALI: 0x0980,
    Script.GURMUKHI: 0x0A00,
    Script.GUJARATI: 0x0A80,
    Script.ORIYA: 0x0B00,
    Script.TAMIL: 0x0B80,
    Script.TELUGU: 0x0C00,
    Script.KANNADA: 0x0C80,
    Script.MALAYALAM: 0x0D00,
}
_BLOCK_OF: dict[int, Script] = {base >> 7: script for script, base in BRAHMIC_BASE.items()}


def char_script(ch: str) -> Script:
    """The script of one character (``NONE`` for marks-free symbols, digits, punctuation, emoji)."""
    cp = ord(ch)
    if cp < 0x80:
        return Script.LATIN if ch.isalpha() else Script.NONE
    block = _BLOCK_OF.get(cp >> 7)
    if block is not None:
        return block
    if 0x0600 <= cp <= 0x06FF or 0x0750 <= cp <= 0x077F or 0xFB50 <= cp <= 0xFDFF or 0xFE70 <= cp <= 0xFEFF:
        # Arabic-script letters (Urdu uses this block); Arabic-Indic digits and punctuation are not letters
        return Script.URDU if unicodedata.category(ch)[0] in "LM" else Script.NONE
    if 0xA8E0 <= cp <= 0xA8FF:  # Devanagari Extended
        return Script.DEVANAGARI
    if ch.isalpha():
        if cp <= 0x024F or 0x1E00 <= cp <= 0x1EFF:
            return Script.LATIN
        return Script.OTHER
    if unicodedata.category(ch) == "Mn" and cp < 0x0370:  # combining accents on Latin letters
        return Script.LATIN
    return Script.NONE


def count_scripts(text: str) -> dict[Script, int]:
    """Letters per script (scripts with no letters are absent)."""
    counts: dict[Script, int] = {}
    for ch in text:
        script = char_script(ch)
        if script is not Script.NONE:
            counts[script] = counts.get(script, 0) + 1
    return counts


def dominant_script(text: str) -> Script:
    """The script with most letters in ``text``; ``NONE`` when it has no letters at all."""
    counts = count_scripts(text)
    if not counts:
        return Script.NONE
    return max(counts.items(), key=lambda item: (item[1], item[0] in MATCHABLE_SCRIPTS))[0]
