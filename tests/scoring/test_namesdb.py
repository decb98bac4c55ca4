from __future__ import annotations

import hashlib
import re
from importlib import resources

from barista_scoring.names import read_name
from barista_scoring.namesdb import MatchKind, NamesDB, parse_records
from barista_scoring.scorer import Scorer


def test_db_is_large_with_indian_coverage(scorer: Scorer) -> None:
    db = scorer.db
    assert len(db) >= 35_000
    assert sum(1 for r in db.records.values() if r.india) >= 1_000
    for name in ("suresh", "priya", "lakshmi", "aarav", "gurpreet", "venkatesh"):
        assert name in db.first, name
    for name in ("patel", "singh", "reddy", "iyer", "chatterjee", "nair"):
        assert name in db.last, name


def test_committed_file_is_the_one_provenance_describes() -> None:
    data = resources.files("barista_scoring").joinpath("data/names.tsv.gz").read_bytes()
    note = resources.files("barista_scoring").joinpath("data/PROVENANCE.md").read_text()
    digest = re.search(r"sha256 of the committed file: `([0-9a-f]{64})`", note)
    assert digest is not None
    assert hashlib.sha256(data).hexdigest() == digest.group(1)
    assert resources.files("barista_scoring").joinpath("data/LICENSE-GFDL-1.2.txt").is_file()


def match(db: NamesDB, name: str, role: str = "first") -> tuple[MatchKind, str]:
    found = db.match(read_name(name).tokens[0], role)  # type: ignore[arg-type]
    return found.kind, found.name


def test_lookups_go_exact_then_phonetic_then_fuzzy(scorer: Scorer) -> None:
    assert match(scorer.db, "Suresh") == (MatchKind.EXACT, "suresh")
    assert match(scorer.db, "Sourav")[0] in (MatchKind.EXACT, MatchKind.PHONETIC)
    assert match(scorer.db, "Priyanka") == (MatchKind.EXACT, "priyanka")
    kind, name = match(scorer.db, "Chopraa", "last")
    assert kind is MatchKind.PHONETIC and name == "chopra"
    assert match(scorer.db, "Xkqzvw") == (MatchKind.NONE, "")


def test_fuzzy_lookup_finds_near_misses_in_a_small_db() -> None:
    db = NamesDB(parse_records(["rajendra\tf\t5\t3\t0\tg\trajendra\trjndr", "kumar\tl\t9\t8\t0\tc\tkumar\tkmr"]))
    token = read_name("Rajendrah").tokens[0]
    found = db.match(token, "first")
    assert found.kind in (MatchKind.PHONETIC, MatchKind.FUZZY) and found.name == "rajendra"


def test_urdu_names_match_through_their_consonants(scorer: Scorer) -> None:
    reading = read_name("عمران خان")
    assert scorer.db.match(reading.tokens[0], "first").name == "imran"
    assert scorer.db.match(reading.tokens[1], "last").name == "khan"
