"""``python -m barista_pipelines``: check DAG specs, run one in-process, or run the self-contained demo.

python -m barista_pipelines validate spec.json …     # parse + plan, print the stages
python -m barista_pipelines run spec.json [--step models …]   # BARISTA_CLICKHOUSE_URL / _POSTGRES_URL
python -m barista_pipelines demo [--data-dir .barista/pipelines-demo]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from barista_core.errors import BaristaError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m barista_pipelines", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="parse DAG spec files and print their plan")
    validate.add_argument("files", nargs="+", type=Path)
    run = commands.add_parser("run", help="run a DAG spec in this process (settings from BARISTA_* variables)")
    run.add_argument("file", type=Path)
    run.add_argument("--step", action="append", default=None, help="only this step (repeatable)")
    demo = commands.add_parser("demo", help="sample events → dbt → sync on embedded backends, then print boards")
    demo.add_argument("--data-dir", type=Path, default=Path(".barista/pipelines-demo"))
    args = parser.parse_args(argv)
    if args.command == "validate":
        return _validate(args.files)

    from barista_core.logging import configure_logging

    configure_logging("WARNING", "console")
    try:
        if args.command == "run":
            return _run(args.file, set(args.step) if args.step else None)
        from barista_pipelines.demo import run_demo

        run_demo(args.data_dir)
        return 0
    except BaristaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _validate(files: list[Path]) -> int:
    from barista_pipelines.plan import plan
    from barista_pipelines.spec import SpecError, parse_spec

    failed = 0
    for path in files:
        try:
            spec = parse_spec(path.read_text(), source=str(path))
        except (SpecError, OSError) as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        stages = " → ".join("{" + ", ".join(s.name for s in stage) + "}" for stage in plan(spec).stages)
        print(f"{path}: {spec.dag_id} ({spec.schedule}{', paused' if spec.paused else ''}): {stages}")
    return 1 if failed else 0


def _run(path: Path, steps: set[str] | None) -> int:
    from barista_pipelines.runners import PipelineRunError, RunContext, run_pipeline
    from barista_pipelines.settings import PipelinesSettings
    from barista_pipelines.spec import SpecError, parse_spec

    try:
        spec = parse_spec(path.read_text(), source=str(path))
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return 1
    ctx = RunContext.from_settings(spec.tenant, PipelinesSettings.load())
    try:
        for result in run_pipeline(spec, ctx, steps=steps):
            print(f"✓ {result.name} ({result.type}, {result.seconds:.1f} s): {result.summary}")
    except PipelineRunError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
