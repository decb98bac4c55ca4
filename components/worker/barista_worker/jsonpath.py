"""A small JSONPath subset for ``http.json`` flows: enough to point at a list and pick fields.

Grammar: an optional ``$`` root, then steps — ``.name``, ``['name']`` / ``["name"]`` (names with dots or
spaces), ``[3]`` / ``[-1]`` (an index, negative from the end), ``[*]`` / ``.*`` (every element of a
list or value of an object). A leading name needs no dot (``items[*].id`` is ``$.items[*].id``).
No filters, slices, unions or recursive descent.

:func:`compile_path` parses once (raising ``ValueError`` with the position of the problem);
:meth:`JsonPath.find` returns every match, :meth:`JsonPath.first` the first or None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"[A-Za-z_@$][A-Za-z0-9_@$-]*")
_INDEX = re.compile(r"\[(-?[0-9]+)\]")
_QUOTED = re.compile(r"""\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]""")
_WILDCARD = object()


@dataclass(frozen=True, slots=True)
class JsonPath:
    text: str
    steps: tuple[str | int | object, ...]

    def find(self, document: Any) -> list[Any]:
        current = [document]
        for step in self.steps:
            following: list[Any] = []
            for node in current:
                if step is _WILDCARD:
                    if isinstance(node, list):
                        following.extend(node)
                    elif isinstance(node, dict):
                        following.extend(node.values())
                elif isinstance(step, int):
                    if isinstance(node, list) and -len(node) <= step < len(node):
                        following.append(node[step])
                elif isinstance(node, dict) and step in node:
                    following.append(node[step])
            current = following
        return current

    def first(self, document: Any) -> Any:
        found = self.find(document)
        return found[0] if found else None

    @property
    def is_wildcard(self) -> bool:
        return any(step is _WILDCARD for step in self.steps)

    def exists(self, document: Any) -> bool:
        """Whether the path leads anywhere: it matches, or every step before its last wildcard does (an
        empty list under ``items[*]`` is "no items", not "no such path")."""
        if self.find(document):
            return True
        if not self.is_wildcard:
            return False
        last = max(i for i, step in enumerate(self.steps) if step is _WILDCARD)
        return bool(JsonPath(self.text, self.steps[:last]).find(document))


def compile_path(text: str) -> JsonPath:
    """Parse ``text``; raises ValueError naming what is wrong and where."""
    source = text.strip()
    position = 0
    steps: list[str | int | object] = []
    if source.startswith("$"):
        position = 1
    elif source and not source.startswith((".", "[")):
        source = "." + source
    while position < len(source):
        rest = source[position:]
        if rest.startswith(".*"):
            steps.append(_WILDCARD)
            position += 2
        elif rest.startswith("[*]"):
            steps.append(_WILDCARD)
            position += 3
        elif rest.startswith("."):
            match = _NAME.match(source, position + 1)
            if match is None:
                raise ValueError(f"JSONPath {text!r}: expected a name after '.' at position {position + 1}")
            steps.append(match.group(0))
            position = match.end()
        elif (match := _INDEX.match(source, position)) is not None:
            steps.append(int(match.group(1)))
            position = match.end()
        elif (match := _QUOTED.match(source, position)) is not None:
            raw = match.group(1) if match.group(1) is not None else match.group(2)
            steps.append(re.sub(r"\\(.)", r"\1", raw))
            position = match.end()
        else:
            raise ValueError(
                f"JSONPath {text!r}: unexpected {rest[:12]!r} at position {position} "
                "(supported: $, .name, ['name'], [index], [*], .*)"
            )
    return JsonPath(text, tuple(steps))
