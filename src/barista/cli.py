"""The ``barista`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from barista_core.errors import BaristaError

app = typer.Typer(
    name="barista",
    help="Barista: creator analytics on Kubernetes. Validate resources, render manifests, run the data plane.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the versions of Barista, its API and its components."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    from barista_operator.api import API_VERSION

    typer.echo(f"barista {dist_version('barista')} (API {API_VERSION}, Python {sys.version.split()[0]})")
    for name in (
        "barista-core",
        "barista-operator",
        "barista-ingest",
        "barista-gateway",
        "barista-scoring",
        "barista-worker",
        "barista-pipelines",
    ):
        try:
            typer.echo(f"  {name} {dist_version(name)}")
        except PackageNotFoundError:
            typer.echo(f"  {name} (not installed)")


@app.command()
def validate(
    files: Annotated[
        list[Path],
        typer.Option("--filename", "-f", help="File or directory (YAML/JSON); - for stdin.", show_default=False),
    ],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")] = False,
) -> None:
    """Validate Barista resources offline: schema, defaults and CEL rules, as the API server would."""
    from barista.validate import validate_paths

    raise typer.Exit(validate_paths(files, quiet=quiet))


@app.command()
def up(
    data_dir: Annotated[Path, typer.Option("--data-dir", "-d", help="Where the embedded backends keep data.")] = Path(
        ".barista"
    ),
    once: Annotated[
        bool, typer.Option("--once", help="Start everything, run the demo, then stop (for checks).")
    ] = False,
    demo: Annotated[bool, typer.Option(help="Run the demo that shows data flowing.")] = True,
) -> None:
    """Run the whole data plane on this machine on embedded backends (Ctrl-C stops it cleanly)."""
    from barista.up import run_up

    raise typer.Exit(run_up(data_dir.resolve(), once=once, demo=demo))


def main() -> None:
    try:
        app()
    except BaristaError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
