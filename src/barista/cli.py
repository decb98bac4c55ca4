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
def render(
    files: Annotated[
        list[Path],
        typer.Option("--filename", "-f", help="File or directory (YAML/JSON); - for stdin.", show_default=False),
    ],
) -> None:
    """Print the manifests the operator would create for Barista resources (multi-document YAML)."""
    from barista.render import render_paths

    raise typer.Exit(render_paths(files))


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


@app.command()
def send(
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=100_000, help="How many events.")] = 200,
    event_type: Annotated[
        list[str] | None, typer.Option("--type", "-t", help="Event type to send (repeatable); default: a mix.")
    ] = None,
    target: Annotated[str | None, typer.Option(help="host:port of an ingest gRPC server.")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key for --target (x-api-key).")] = None,
    data_dir: Annotated[Path, typer.Option("--data-dir", "-d", help="Where barista up keeps its data.")] = Path(
        ".barista"
    ),
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible sample events.")] = None,
) -> None:
    """Send sample events over gRPC and show them queryable in ClickHouse."""
    from barista.send import run_send

    raise typer.Exit(
        run_send(data_dir=data_dir, target=target, api_key=api_key, count=count, types=event_type or [], seed=seed)
    )


@app.command()
def score(
    file: Annotated[Path, typer.Argument(help="JSON Lines, one follower profile per line; - for stdin.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write scores as JSON Lines here (default: stdout).")
    ] = None,
    explain: Annotated[bool, typer.Option(help="Include every feature's contribution and reason.")] = False,
) -> None:
    """Score follower profiles for fake followers (probability, label, reasons) with a progress bar."""
    from barista.score import run_score

    raise typer.Exit(run_score(file, output=output, explain=explain))


@app.command()
def token(
    url: Annotated[str, typer.Option(help="Base URL of a running gateway.")] = "http://127.0.0.1:8080",
    api_key: Annotated[
        str | None, typer.Option(help="API key to exchange (default: the demo key `barista up` made).")
    ] = None,
    data_dir: Annotated[Path, typer.Option("--data-dir", "-d", help="Where barista up keeps its data.")] = Path(
        ".barista"
    ),
    curl: Annotated[bool, typer.Option(help="Print a curl line using the token (to stderr).")] = True,
) -> None:
    """Exchange an API key for a short-lived token (POST /v1/auth/token); prints the token."""
    from barista_gateway.cli import run_token

    raise typer.Exit(run_token(url=url, api_key=api_key, data_dir=data_dir, curl=curl))


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
