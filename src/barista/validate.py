"""``barista validate``: check resource files offline and print every problem with its location."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import yaml

from barista_core.errors import ConfigError
from barista_operator.api.validation import Issue, validate_object
from barista_operator.yamlio import load_all_yaml

SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Document:
    source: str
    index: int  # 1-based position in its file
    body: Any

    @property
    def label(self) -> str:
        body = self.body if isinstance(self.body, dict) else {}
        meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        name = meta.get("name", "?")
        namespace = meta.get("namespace")
        who = f"{namespace}/{name}" if namespace else str(name)
        return f"{self.source}: document {self.index} ({body.get('kind', '?')} {who})"


def iter_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if str(path) == "-":
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        elif path.is_file():
            yield path
        else:
            raise ConfigError(f"{path}: no such file or directory")


def load_documents(path: Path) -> tuple[list[Document], list[str]]:
    """Documents of one file, or the reason it cannot be parsed."""
    source = "<stdin>" if str(path) == "-" else str(path)
    text = sys.stdin.read() if str(path) == "-" else path.read_text()
    bodies: list[Any] = []
    try:
        if path.suffix == ".json":
            data = json.loads(text)
            bodies = data.get("items", [data]) if isinstance(data, dict) and data.get("kind") == "List" else [data]
        else:
            for body in load_all_yaml(text):  # keep the documents before a broken one
                bodies.append(body)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        where = f"document {len(bodies) + 1}: " if bodies else ""
        kind = "JSON" if path.suffix == ".json" else "YAML"
        detail = " ".join(str(exc).replace('in "<unicode string>", ', "").split())
        documents = [Document(source, i, body) for i, body in enumerate(bodies, start=1)]
        return documents, [f"{source}: {where}not valid {kind}: {detail}"]
    return [Document(source, i, body) for i, body in enumerate(bodies, start=1)], []


def validate_paths(paths: list[Path], *, quiet: bool = False) -> int:
    """Validate every document under ``paths``; print problems; return the exit status."""
    checked = invalid = unreadable = 0
    for path in iter_files(paths):
        documents, parse_errors = load_documents(path)
        for error in parse_errors:
            typer.secho(error, err=True, fg=typer.colors.RED)
            unreadable += 1
        for document in documents:
            checked += 1
            issues: list[Issue] = validate_object(document.body)
            if issues:
                invalid += 1
                for issue in issues:
                    typer.secho(f"{document.label}: {issue}", err=True, fg=typer.colors.RED)
            elif not quiet:
                typer.echo(f"{document.label}: valid")
    if checked == 0 and unreadable == 0:
        typer.secho("no documents found", err=True, fg=typer.colors.RED)
        return 1
    if not quiet:
        summary = f"{checked} document{'s' if checked != 1 else ''} checked, {invalid} invalid"
        typer.echo(summary + (f", {unreadable} unreadable" if unreadable else ""))
    return 1 if invalid or unreadable else 0
