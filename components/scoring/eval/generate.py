# ruff: noqa: RUF001 (Urdu letters in string literals are meant)
"""Generate the labelled evaluation set: synthetic real and fake follower profiles in 10 Indic scripts and Latin.

NOT a field dataset. Every profile is synthetic; its label is the generator's intent. What it is
good for: a fixed, reproducible yard-stick across scripts, name styles and bot patterns. What it
cannot tell: how the scorer does on a real platform's followers (base rates, new bot styles).

Where the names come from (no name list is typed in here):

* Faker's person providers (MIT licence) hold names in native script for Devanagari (hi_IN, mr_IN),
  Bengali (bn_BD), Gujarati (gu_IN), Oriya (or_IN) and Tamil (ta_IN). The Latin spelling a person
  would use in a handle is made by this generator's own romaniser below: sanscript's ISO-15919 output
  folded to ASCII with a few popular habits. It is deliberately separate, simpler code than the
  scorer's (``barista_scoring.romanise``), so the evaluation does not grade the scorer against itself.
* Gurmukhi, Telugu, Kannada and Malayalam names: Faker's en_IN Latin names written in the script
  with sanscript (ITRANS → script). Urdu names: Faker's en_PK Latin names written in Urdu letters by
  the rules in :func:`latin_to_urdu` (long vowels written, short vowels left out, as Urdu does).
* Latin names: en_IN (85%) and en_US (15%). Words for hobby handles, page names and bios: Faker's
  en_US lorem word list.

The names DB (``barista_scoring/data/names.tsv.gz``) is built from other sources (gender-guesser,
US Census, SSA), so the names-DB feature meets these names the way it would meet strangers' names.

Profile kinds and their shares are set once below, from what bought-follower accounts and ordinary
users look like; they are not tuned to the scorer's results. See ``eval/README.md``.

Run: ``uv run --frozen --package barista-scoring --group data python components/scoring/eval/generate.py``
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indic_transliteration import sanscript

HERE = Path(__file__).resolve().parent
OUT = HERE / "data" / "generated.jsonl.gz"
SEED = 20261128
TOTAL = 16_000
FAKE_SHARE = 0.4
TEST_SHARE = 0.5

SCRIPTS = ("latin", "devanagari", "bengali", "gurmukhi", "gujarati", "oriya", "tamil", "telugu", "kannada",
           "malayalam", "urdu")  # fmt: skip


# ---- name pools ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A name as written in its script and as its owner would spell it in Latin letters."""

    native_first: str
    native_last: str | None
    latin_first: str
    latin_last: str | None
    script: str


def _faker(locale: str) -> Any:
    module = __import__(f"faker.providers.person.{locale}", fromlist=["Provider"])
    return module.Provider


def _uniq(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(i.strip() for i in items if i and i.strip()))


_ISO_FOLD = [
    ("ā", "a"), ("ī", "ee"), ("ū", "oo"), ("ē", "e"), ("ō", "o"), ("ṛ", "ri"), ("r̥", "ri"), ("ṝ", "ri"),
    ("ś", "sh"), ("ṣ", "sh"), ("ṭ", "t"), ("ḍ", "d"), ("ṇ", "n"), ("ṅ", "n"), ("ñ", "n"), ("ṁ", "n"),
    ("ṃ", "n"), ("ḥ", "h"), ("ḷ", "l"), ("ḻ", "zh"), ("ṟ", "r"), ("ṉ", "n"), ("m̐", "n"), ("ẏ", "y"),
    ("c", "ch"), ("ṯ", "t"), ("ḵ", "k"), ("ĕ", "e"), ("ŏ", "o"), ("ǣ", "e"), ("ê", "e"), ("ô", "o"),
]  # fmt: skip


def native_to_latin(word: str, script: str, rng: random.Random) -> str:
    """The generator's own romanisation: ISO-15919 folded to the ASCII people type."""
    iso = sanscript.transliterate(unicodedata.normalize("NFC", word), script, sanscript.ISO)
    text = unicodedata.normalize("NFC", iso.lower())
    if script == sanscript.TAMIL:  # sanscript reads Tamil stops as voiced aspirates: undo it
        text = re.sub(r"^gh", "k", text)
        text = re.sub(r"^jh", "s", text)
        text = re.sub(r"^dh", "th", text)
        text = re.sub(r"^bh", "p", text)
        text = text.replace("dhdh", "tth").replace("ghgh", "kk").replace("bhbh", "pp").replace("jhjh", "cch")
        text = text.replace("ḍhḍh", "tt").replace("ṭṭ", "tt").replace("gh", "g").replace("dh", "th")
        text = text.replace("jh", "s").replace("bh", "b").replace("ḍh", "d")
    for a, b in _ISO_FOLD:
        text = text.replace(a, b)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z]", "", text)
    northern = script in (sanscript.DEVANAGARI, sanscript.GUJARATI, sanscript.BENGALI, sanscript.ORIYA)
    # northern speakers drop the final inherent vowel: ramesha → ramesh (not after clusters)
    if northern and re.search(r"[aeiou][^aeiouy]a$", text) and rng.random() < 0.9:
        text = text[:-1]
    if script == sanscript.BENGALI and rng.random() < 0.25:
        text = text.replace("v", "b")
    return text


def latin_to_itrans(name: str) -> str:
    text = name.lower()
    text = text.replace("aa", "A").replace("ee", "I").replace("oo", "U").replace("x", "kSh").replace("w", "v")
    text = re.sub(r"c(?!h)", "k", text)
    text = re.sub(r"ph", "f", text)
    return re.sub(r"n(?=[kgcjtdpb])", "M", text)  # a nasal before a stop is an anusvara: singh, venkatesh


def latin_to_native(name: str, script: str) -> str:
    """Write a Latin-spelt name in a Brahmic script as people of that script do."""
    out = sanscript.transliterate(latin_to_itrans(name), sanscript.ITRANS, script)
    if script == sanscript.GURMUKHI:  # Gurmukhi writes no virama except under r, h, v
        out = re.sub("\u0a4d(?![ਰਹਵ])", "", out)
    if script == sanscript.MALAYALAM:  # final n, r, l are chillus
        out = re.sub("ന്$", "ൻ", out)
        out = re.sub("ര്$", "ർ", out)
        out = re.sub("ല്$", "ൽ", out)
    return unicodedata.normalize("NFC", out)


_URDU_RULES = [
    ("kh", "خ"), ("gh", "غ"), ("sh", "ش"), ("ch", "چ"), ("th", "تھ"), ("dh", "دھ"), ("bh", "بھ"), ("ph", "پھ"),
    ("jh", "جھ"), ("aa", "ا"), ("ee", "ی"), ("oo", "و"), ("ou", "و"), ("au", "و"), ("ai", "ی"),
    ("b", "ب"), ("p", "پ"), ("t", "ت"), ("j", "ج"), ("h", "ہ"), ("d", "د"), ("r", "ر"), ("z", "ز"), ("s", "س"),
    ("f", "ف"), ("q", "ق"), ("k", "ک"), ("g", "گ"), ("l", "ل"), ("m", "م"), ("n", "ن"), ("w", "و"), ("v", "و"),
    ("y", "ی"), ("c", "ک"), ("x", "کس"),
]  # fmt: skip


def latin_to_urdu(name: str) -> str:
    """Urdu letters for a Latin-spelt name: consonants, long vowels, initial vowels; short vowels unwritten."""
    text = name.lower()
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        last = i == len(text) - 1
        if ch in "aeiou" and text[i : i + 2] not in ("aa", "ee", "oo", "ou", "au", "ai"):
            if i == 0:
                out.append("آ" if text[1:2] == "a" else "ا" if ch in "ae" else "اِ"[0] if ch == "i" else "ا")
            elif last:
                out.append({"a": "ہ", "e": "ے", "i": "ی", "o": "و", "u": "و"}[ch])
            elif ch in "oe":
                out.append("و" if ch == "o" else "ی")
            i += 1
            continue
        for latin, urdu in _URDU_RULES:
            if text.startswith(latin, i):
                if i == 0 and latin in ("aa", "ee", "oo", "ai", "au", "ou"):
                    out.append("ا")
                out.append(urdu)
                i += len(latin)
                break
        else:
            i += 1
    return "".join(out)


class Pools:
    def __init__(self) -> None:
        en_in, en_us, en_pk = _faker("en_IN"), _faker("en_US"), _faker("en_PK")
        hi, mr, bn, gu, od, ta = (_faker(x) for x in ("hi_IN", "mr_IN", "bn_BD", "gu_IN", "or_IN", "ta_IN"))
        self.in_first = _uniq([*en_in.first_names_male, *en_in.first_names_female])
        self.in_last = _uniq(en_in.last_names)
        self.us_first = _uniq([*en_us.first_names_male, *en_us.first_names_female])
        self.us_last = _uniq(en_us.last_names)
        self.pk_first = _uniq([n for n in en_pk.first_names if n.isalpha()])
        self.pk_last = _uniq([n for n in en_pk.last_names if n.isalpha()])
        self.native: dict[str, tuple[list[str], list[str]]] = {
            "devanagari": (
                _uniq([*hi.first_names_male, *hi.first_names_female, *mr.first_names_male, *mr.first_names_female]),
                _uniq([*hi.last_names, *mr.last_names]),
            ),
            "bengali": (_uniq(bn.first_names), _uniq(bn.last_names)),
            "gujarati": (_uniq([*gu.first_names_male, *gu.first_names_female]), _uniq(gu.last_names)),
            "oriya": (_uniq([*od.first_names_male, *od.first_names_female]), _uniq(od.last_names)),
            "tamil": (_uniq([*ta.first_names_male, *ta.first_names_female]), []),
        }
        lorem = _faker("en_US")  # (the person provider; the word list is in the lorem provider)
        del lorem
        from faker.providers.lorem.en_US import Provider as Lorem

        self.words = [w.lower() for w in Lorem.word_list if w.isalpha() and 3 <= len(w) <= 9]

    def person(self, script: str, rng: random.Random) -> Person:
        if script == "latin":
            if rng.random() < 0.85:
                first, last = rng.choice(self.in_first), rng.choice(self.in_last)
            else:
                first, last = rng.choice(self.us_first), rng.choice(self.us_last)
            return Person(first, last, first.lower(), last.lower(), script)
        if script in self.native:
            firsts, lasts = self.native[script]
            first = rng.choice(firsts)
            last = rng.choice(lasts) if lasts else rng.choice(firsts)  # Tamil: father's name as second name
            sc = getattr(sanscript, script.upper())
            return Person(first, last, native_to_latin(first, sc, rng), native_to_latin(last, sc, rng), script)
        if script == "urdu":
            first, last = rng.choice(self.pk_first), rng.choice(self.pk_last)
            return Person(latin_to_urdu(first), latin_to_urdu(last), first.lower(), last.lower(), script)
        first, last = rng.choice(self.in_first), rng.choice(self.in_last)
        if script == "gurmukhi" and rng.random() < 0.6:
            last = "Kaur" if rng.random() < 0.4 else "Singh"
        sc = getattr(sanscript, script.upper())
        return Person(latin_to_native(first, sc), latin_to_native(last, sc), first.lower(), last.lower(), script)


# ---- profiles -----------------------------------------------------------------------------------------


def lognormal_int(rng: random.Random, median: float, sigma: float, low: int, high: int) -> int:
    return max(low, min(high, round(median * math.exp(rng.gauss(0, sigma)))))


def respell(word: str, rng: random.Random) -> str:
    """One of the spelling changes people make in handles (sooraj/suraj, bhavna/bavna, vicky/wicky)."""
    swaps = [("ee", "i"), ("i", "ee"), ("oo", "u"), ("u", "oo"), ("aa", "a"), ("sh", "s"), ("v", "w"),
             ("th", "t"), ("bh", "b"), ("dh", "d"), ("kh", "k"), ("a", "aa")]  # fmt: skip
    rng.shuffle(swaps)
    for a, b in swaps:
        if a in word:
            return word.replace(a, b, 1)
    return word


def year_digits(rng: random.Random) -> str:
    year = rng.randint(1975, 2010)
    return str(year) if rng.random() < 0.4 else f"{year % 100:02d}"


def random_digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def random_letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))


def name_handle(first: str, last: str | None, rng: random.Random) -> str:
    """A handle built from a name the way people build them."""
    if rng.random() < 0.25:
        first = respell(first, rng)
    last = last or ""
    sep = rng.choice([".", "_", "", "", "_"])
    style = rng.random()
    if not last or style < 0.15:
        base = first
    elif style < 0.55:
        base = f"{first}{sep}{last}"
    elif style < 0.65:
        base = f"{last}{sep}{first}"
    elif style < 0.78:
        base = f"{first[0]}{sep}{last}"
    elif style < 0.88:
        base = f"{first}{sep}{last[0]}"
    else:
        base = f"{first[: max(3, len(first) - rng.randint(0, 2))]}{sep}{last[:3]}"
    digits = rng.random()
    if digits < 0.25:
        base += rng.choice(["", "_", "."]) + year_digits(rng)
    elif digits < 0.45:
        base += rng.choice(["", "_"]) + random_digits(rng, rng.randint(1, 3))
    return base[:30]


def word_handle(words: list[str], rng: random.Random) -> str:
    parts = [rng.choice(words) for _ in range(rng.randint(1, 3))]
    handle = rng.choice([".", "_", ""]).join(parts)
    if rng.random() < 0.3:
        handle += random_digits(rng, rng.randint(1, 3))
    return handle[:30]


def sentence(words: list[str], rng: random.Random, n: tuple[int, int]) -> str:
    text = " ".join(rng.choice(words) for _ in range(rng.randint(*n)))
    return text.capitalize()


def display_name(person: Person, rng: random.Random, *, allow_single: bool = True) -> str:
    first, last = person.native_first, person.native_last
    if rng.random() < 0.03 and person.script != "latin" and person.latin_last:  # mixed scripts
        return f"{first} {person.latin_last.capitalize()}"
    name = first if (allow_single and rng.random() < 0.2) or not last else f"{first} {last}"
    if rng.random() < 0.05:
        name += " " + rng.choice(["✨", "🌸", "❤️", "🇮🇳", "🙏", "💫"])
    return name


@dataclass
class Draft:
    kind: str
    label: int
    script: str
    handle: str
    full_name: str | None
    biography: str | None
    follower_count: int | None
    following_count: int | None
    post_count: int | None
    has_profile_pic: bool | None
    is_private: bool | None
    is_verified: bool | None
    external_url: str | None


def pick_script(rng: random.Random) -> str:
    return "latin" if rng.random() < 0.45 else rng.choice(SCRIPTS[1:])


def real_profile(pools: Pools, rng: random.Random) -> Draft:
    script = pick_script(rng)
    person = pools.person(script, rng)
    kind = rng.choices(["regular", "lurker", "page", "creator"], weights=[70, 15, 10, 5])[0]
    if kind == "page":  # hobby pages and small businesses: word names, word handles
        name = " ".join(w.capitalize() for w in rng.sample(pools.words, rng.randint(1, 3)))
        return Draft(kind, 0, "latin", word_handle(pools.words, rng), name,
                     sentence(pools.words, rng, (3, 12)), lognormal_int(rng, 600, 1.3, 5, 200_000),
                     lognormal_int(rng, 300, 1.0, 0, 7_500), lognormal_int(rng, 80, 1.2, 1, 5_000),
                     rng.random() < 0.95, rng.random() < 0.1, False,
                     f"https://{rng.choice(pools.words)}.example" if rng.random() < 0.5 else "")  # fmt: skip
    handle = (
        name_handle(person.latin_first, person.latin_last, rng) if rng.random() < 0.8 else word_handle(pools.words, rng)
    )
    if rng.random() < 0.08:  # nickname handles: the first name plus a word
        prefix, joiner = rng.choice(["its", "the", "iam", ""]), rng.choice(["_", ".", ""])
        sep, word = rng.choice(["_", "."]), rng.choice(pools.words)
        handle = f"{prefix}{joiner}{person.latin_first}{sep}{word}"[:30]
    name = display_name(person, rng) if rng.random() < 0.95 else ""
    if kind == "lurker":  # real people who only watch: few followers, no posts, often no picture
        return Draft(kind, 0, script, handle, name, "" if rng.random() < 0.85 else sentence(pools.words, rng, (2, 6)),
                     lognormal_int(rng, 25, 1.0, 0, 500), lognormal_int(rng, 180, 0.9, 5, 2_500),
                     0 if rng.random() < 0.7 else rng.randint(1, 5), rng.random() < 0.5, rng.random() < 0.5,
                     False, "")  # fmt: skip
    creator = kind == "creator"
    followers = lognormal_int(rng, 40_000 if creator else 280, 1.3 if creator else 1.1, 0, 5_000_000)
    return Draft(
        kind, 0, script, handle, name,
        sentence(pools.words, rng, (2, 14)) if rng.random() < (0.9 if creator else 0.55) else "",
        followers, lognormal_int(rng, 600 if creator else 350, 0.9, 0, 7_500),
        lognormal_int(rng, 400 if creator else 45, 1.0, 0, 20_000) if rng.random() < 0.85 else 0,
        rng.random() < (0.99 if creator else 0.85), (not creator) and rng.random() < 0.35,
        creator and rng.random() < 0.2,
        (
            f"https://{rng.choice(pools.words)}.example/{person.latin_first}"
            if rng.random() < (0.6 if creator else 0.08)
            else ""
        ),
    )  # fmt: skip


def fake_profile(pools: Pools, rng: random.Random) -> Draft:
    kind = rng.choices(["bot", "stolen_name", "promo", "sophisticated", "empty"], weights=[30, 25, 15, 20, 10])[0]
    script = pick_script(rng)
    person = pools.person(script, rng)
    following_bot = lognormal_int(rng, 2_500, 0.7, 300, 7_500)
    if kind == "bot":  # bought followers: template handles, little else
        handle = rng.choice([
            lambda: rng.choice(["user", "insta", "ig", "follow", "account"]) + random_digits(rng, rng.randint(6, 9)),
            lambda: random_letters(rng, rng.randint(5, 9)) + random_digits(rng, rng.randint(2, 6)),
            lambda: person.latin_first + rng.choice(["", "_", "."]) + random_digits(rng, rng.randint(5, 8)),
            lambda: random_letters(rng, rng.randint(1, 3)) + random_digits(rng, rng.randint(6, 9)),
            lambda: "".join(random_letters(rng, 1) + random_digits(rng, 1) for _ in range(rng.randint(3, 5))),
        ])()  # fmt: skip
        roll = rng.random()
        name = (
            ""
            if roll < 0.35
            else random_letters(rng, rng.randint(4, 9)).capitalize()
            if roll < 0.55
            else display_name(person, rng)
        )
        return Draft(kind, 1, script if roll >= 0.55 else ("none" if roll < 0.35 else "latin"), handle[:30], name,
                     "" if rng.random() < 0.9 else sentence(pools.words, rng, (1, 4)),
                     lognormal_int(rng, 8, 1.2, 0, 400), following_bot, 0 if rng.random() < 0.85 else rng.randint(1, 3),
                     rng.random() < 0.25, rng.random() < 0.15, False, "")  # fmt: skip
    if kind == "stolen_name":  # a real-looking name on a handle made from someone else's
        other = pools.person(pick_script(rng), rng)
        handle = name_handle(other.latin_first, other.latin_last, rng)
        handle = (handle + rng.choice(["", "_", "."]) + random_digits(rng, rng.randint(3, 6)))[:30]
        return Draft(kind, 1, script, handle, display_name(person, rng),
                     "" if rng.random() < 0.75 else sentence(pools.words, rng, (2, 8)),
                     lognormal_int(rng, 40, 1.2, 0, 3_000), following_bot,
                     lognormal_int(rng, 2, 1.0, 0, 40) if rng.random() < 0.5 else 0,
                     rng.random() < 0.65, rng.random() < 0.2, False, "")  # fmt: skip
    if kind == "promo":  # follow-for-follow and promotion accounts
        words = rng.sample(pools.words, 2)
        handle = f"{words[0]}{rng.choice(['.', '_', ''])}{words[1]}{random_digits(rng, rng.randint(0, 4))}"
        return Draft(kind, 1, "latin", handle[:30], " ".join(w.capitalize() for w in words),
                     sentence(pools.words, rng, (4, 12)) if rng.random() < 0.8 else "",
                     lognormal_int(rng, 300, 1.2, 0, 20_000), lognormal_int(rng, 4_500, 0.4, 1_000, 7_500),
                     lognormal_int(rng, 20, 1.0, 1, 500), rng.random() < 0.9, False, False,
                     f"https://{words[0]}.example" if rng.random() < 0.7 else "")  # fmt: skip
    if kind == "sophisticated":  # name-matched handles with year-like digits, a picture, a few posts
        handle = name_handle(person.latin_first, person.latin_last, rng)
        if rng.random() < 0.6:
            handle = (handle + rng.choice(["", "_", "."]) + random_digits(rng, rng.randint(2, 4)))[:30]
        return Draft(kind, 1, script, handle, display_name(person, rng),
                     "" if rng.random() < 0.6 else sentence(pools.words, rng, (2, 8)),
                     lognormal_int(rng, 120, 1.0, 0, 3_000), lognormal_int(rng, 1_600, 0.7, 200, 7_500),
                     lognormal_int(rng, 5, 0.9, 0, 60), rng.random() < 0.8, rng.random() < 0.25, False, "")  # fmt: skip
    # empty shells
    handle = rng.choice(
        [random_letters(rng, rng.randint(6, 12)), word_handle(pools.words, rng) + random_digits(rng, 4)]
    )
    return Draft(kind, 1, "none", handle[:30], "" if rng.random() < 0.7 else None, "",
                 lognormal_int(rng, 3, 1.0, 0, 60), lognormal_int(rng, 600, 0.8, 20, 7_500), 0,
                 rng.random() < 0.1, rng.random() < 0.3, False, "")  # fmt: skip


_OPTIONAL = ("full_name", "biography", "follower_count", "following_count", "post_count", "has_profile_pic",
             "is_private", "is_verified", "external_url")  # fmt: skip


def generate(total: int = TOTAL, seed: int = SEED) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    pools = Pools()
    rows: list[dict[str, Any]] = []
    for i in range(total):
        make: Callable[[Pools, random.Random], Draft] = fake_profile if rng.random() < FAKE_SHARE else real_profile
        draft = make(pools, rng)
        row = {"id": f"g{i:05d}", "label": draft.label, "kind": draft.kind, "script": draft.script}
        row.update({k: v for k, v in draft.__dict__.items() if k not in ("kind", "label", "script")})
        for field_name in _OPTIONAL:  # scrapers miss fields now and then
            if rng.random() < 0.04:
                row[field_name] = None
        row["split"] = "test" if rng.random() < TEST_SHARE else "train"
        rows.append(row)
    return rows


def write(rows: list[dict[str, Any]], path: Path) -> bytes:
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode()
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text)
    data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the scoring evaluation set (not a field dataset).")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--total", type=int, default=TOTAL)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    rows = generate(args.total, args.seed)
    write(rows, args.out)
    by = {}
    for r in rows:
        by[(r["split"], r["label"])] = by.get((r["split"], r["label"]), 0) + 1
    print(f"wrote {len(rows)} profiles to {args.out}: {dict(sorted(by.items()))} (split, label 1 = fake)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
