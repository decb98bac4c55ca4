"""``barista score FILE.jsonl``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from barista.cli import app


def test_scores_a_file_and_reports_bad_lines(tmp_path: Path) -> None:
    source = tmp_path / "followers.jsonl"
    lines = [
        {"handle": "suresh_kumar_92", "full_name": "சுரேஷ் குமார்", "follower_count": 412, "following_count": 380,
         "post_count": 57, "has_profile_pic": True, "id": "1"},
        {"handle": "user83746251", "full_name": "", "follower_count": 3, "following_count": 7120, "post_count": 0},
    ]  # fmt: skip
    source.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + '\n\n{"handle": 5}\nnot json\n')
    out = tmp_path / "scores.jsonl"
    result = CliRunner().invoke(app, ["score", str(source), "-o", str(out)])
    assert result.exit_code == 1, result.output  # two lines were skipped
    scores = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["label"] for s in scores] == ["real", "fake"]
    assert scores[0]["id"] == "1" and "contributions" not in scores[0]
    assert "scored 2 profiles: 1 real, 0 suspicious, 1 fake" in result.output
    assert "line 4: handle: Input should be a valid string" in result.output
    assert "line 5: not JSON" in result.output


def test_explain_and_clean_exit(tmp_path: Path) -> None:
    source = tmp_path / "one.jsonl"
    source.write_text('{"handle": "priya.sharma", "full_name": "प्रिया शर्मा"}\n')
    result = CliRunner().invoke(app, ["score", str(source), "--explain"])
    assert result.exit_code == 0, result.output
    first = json.loads(next(line for line in result.output.splitlines() if line.startswith("{")))
    assert len(first["contributions"]) == 6


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["score", str(tmp_path / "nope.jsonl")])
    assert result.exit_code != 0
    assert "cannot read" in str(result.exception or result.output)
