"""``barista score FILE.jsonl``: score follower profiles from a file, with a progress bar and a summary.

Each input line is one profile (the API's profile object). Bad lines are reported with their line
number and skipped; the exit status is 0 when every line was scored, 1 when some were skipped,
2 when the file cannot be read.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from barista_core.errors import ConfigError

if TYPE_CHECKING:
    from barista_scoring import Profile

CHUNK = 1_000
MAX_LINE_BYTES = 1024 * 1024
SHOWN_ERRORS = 10


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def run_score(path: Path, *, output: Path | None = None, explain: bool = False) -> int:
    from barista_scoring import ProfileError, parse_profile
    from barista_scoring.metrics import count_labels
    from barista_scoring.output import score_to_dict
    from barista_scoring.scorer import default_scorer

    console = Console(stderr=True, highlight=False)
    with ExitStack() as stack:
        if str(path) == "-":
            source: IO[bytes] = sys.stdin.buffer
            total = None
        else:
            try:
                source = stack.enter_context(path.open("rb"))
            except OSError as exc:
                raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
            total = path.stat().st_size
        sink: IO[str] = stack.enter_context(output.open("w", encoding="utf-8")) if output else sys.stdout
        with console.status("loading the names DB and model…"):
            scorer = default_scorer()
            _ = scorer.model
        labels: Counter[str] = Counter()
        errors: list[str] = []
        progress = Progress(
            TextColumn("scoring"), BarColumn(), TextColumn("{task.fields[profiles]:,} profiles"), TimeRemainingColumn(),
            console=console, transient=False,
        )  # fmt: skip
        with progress:
            task = progress.add_task("score", total=total, profiles=0)
            pending: list[Profile] = []
            done_bytes = 0

            def flush() -> None:
                scores = scorer.score_many(pending)
                for s in scores:
                    sink.write(json.dumps(score_to_dict(s, explain=explain), ensure_ascii=False) + "\n")
                batch_labels = [s.label.value for s in scores]
                labels.update(batch_labels)
                count_labels(batch_labels, "cli")
                pending.clear()
                progress.update(task, completed=done_bytes, profiles=sum(labels.values()))

            for number, line in _lines(source):
                done_bytes += len(line)
                if len(line) > MAX_LINE_BYTES:
                    errors.append(f"line {number}: {len(line):,} bytes is longer than {MAX_LINE_BYTES:,}")
                    continue
                try:
                    pending.append(parse_profile(json.loads(line)))
                except json.JSONDecodeError as exc:
                    errors.append(f"line {number}: not JSON ({exc.msg})")
                except ProfileError as exc:
                    errors.append(f"line {number}: {exc}")
                if len(pending) >= CHUNK:
                    flush()
            if pending:
                flush()
            progress.update(task, completed=done_bytes)
    scored = sum(labels.values())
    share = labels["fake"] / scored if scored else 0.0
    console.print(
        f"scored {scored:,} profile{'s' if scored != 1 else ''}: {labels['real']:,} real, "
        f"{labels['suspicious']:,} suspicious, {labels['fake']:,} fake (fake share {share:.1%})"
    )
    for problem in errors[:SHOWN_ERRORS]:
        console.print(f"[red]skipped[/] {problem}")
    if len(errors) > SHOWN_ERRORS:
        console.print(f"[red]skipped[/] {len(errors) - SHOWN_ERRORS} more line(s)")
    return 1 if errors else 0
