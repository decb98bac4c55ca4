"""YAML in and out: block style, key order kept, multi-line strings readable."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)


def dump_all_yaml(objs: Iterable[Any]) -> str:
    return yaml.dump_all(
        list(objs), Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True, explicit_start=True
    )


def load_all_yaml(text: str) -> Iterator[Any]:
    """Documents of a multi-document YAML stream, skipping empty ones."""
    for doc in yaml.safe_load_all(text):
        if doc is not None:
            yield doc
