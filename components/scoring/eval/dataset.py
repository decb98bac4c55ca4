"""The evaluation set: generated profiles (``data/generated.jsonl.gz``) plus hand-written edge cases.

The split is fixed: each generated profile carries its ``split`` (drawn once by the seeded generator);
every hand-written edge case is in the test split, so the weights never see them.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from barista_scoring.profile import Profile
from barista_scoring.script import Script, dominant_script

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "data" / "generated.jsonl.gz"
EDGE_CASES = HERE / "edge_cases.tsv"

_FIELDS = ("handle", "full_name", "biography", "follower_count", "following_count", "post_count", "has_profile_pic",
           "is_private", "is_verified", "external_url")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Example:
    profile: Profile
    label: int  # 1 = fake
    split: str  # train | test
    source: str  # generated | edge
    kind: str
    script: Script  # script of the full name, as the scorer sees it


def _script_of(name: str | None) -> Script:
    return dominant_script(name) if name else Script.NONE


def load_generated(path: Path = GENERATED) -> list[Example]:
    examples = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            profile = Profile(id=row["id"], **{k: row[k] for k in _FIELDS})
            examples.append(
                Example(
                    profile, int(row["label"]), row["split"], "generated", row["kind"], _script_of(profile.full_name)
                )
            )
    return examples


def _cell(value: str) -> str | None:
    return None if value == "-" else value


def _count(value: str) -> int | None:
    return None if value in ("-", "") else int(value)


def _flag(value: str) -> bool | None:
    return {"y": True, "n": False}.get(value)


def load_edge_cases(path: Path = EDGE_CASES) -> list[Example]:
    examples = []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    header = lines[0].split("\t")
    for number, line in enumerate(lines[1:], start=1):
        cells = dict(zip(header, line.split("\t"), strict=True))
        profile = Profile(
            id=f"e{number:03d}",
            handle=cells["handle"],
            full_name=_cell(cells["full_name"]),
            biography=_cell(cells["biography"]),
            follower_count=_count(cells["followers"]),
            following_count=_count(cells["following"]),
            post_count=_count(cells["posts"]),
            has_profile_pic=_flag(cells["picture"]),
            is_private=_flag(cells["private"]),
            is_verified=_flag(cells["verified"]),
            external_url=_cell(cells["url"]),
        )
        label = {"real": 0, "fake": 1}[cells["label"]]
        examples.append(Example(profile, label, "test", "edge", cells["note"], _script_of(profile.full_name)))
    return examples


def load_all() -> list[Example]:
    return load_generated() + load_edge_cases()
