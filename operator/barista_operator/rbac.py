"""The operator's RBAC: where its ClusterRole rules live and how an API request maps onto them.

The rules are kept in ``charts/barista/files/operator-rbac-rules.yaml`` (the chart's ClusterRole reads
them); tests check that every request the operator makes in emulator runs is allowed by them, and that
they grant nothing the operator does not use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True, order=True, slots=True)
class Access:
    """One kind of API request: (verb, API group, resource[/subresource])."""

    verb: str
    group: str
    resource: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}" + (f".{self.group}" if self.group else "")


def parse_rules(text: str) -> list[dict[str, Any]]:
    rules = yaml.safe_load(text)
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise ValueError("expected a YAML list of PolicyRules")
    return rules


def allowed(access: Access, rules: Iterable[Mapping[str, Any]]) -> bool:
    """Whether ``rules`` grant ``access`` (no wildcards are honoured: the rules must not have any)."""
    return any(
        access.group in rule.get("apiGroups", [])
        and access.resource in rule.get("resources", [])
        and access.verb in rule.get("verbs", [])
        and not rule.get("resourceNames")
        for rule in rules
    )


def granted(rules: Iterable[Mapping[str, Any]]) -> set[Access]:
    """Every (verb, group, resource) the rules grant."""
    return {
        Access(verb, group, resource)
        for rule in rules
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }


def access_of(method: str, path: str, params: Mapping[str, str]) -> Access | None:
    """The RBAC access an HTTP request to the API needs; None for discovery (open to every user)."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    namespace_itself = group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")
    if rest[:1] == ["namespaces"] and len(rest) >= 3 and not namespace_itself:
        rest = rest[2:]  # /namespaces/<ns>/<plural>/...: a namespaced resource
    if not rest:
        return None
    plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), "/".join(rest[2:]) or None
    method = method.upper()
    if method == "GET":
        verb = "watch" if params.get("watch") in ("true", "1") else ("get" if name else "list")
    else:
        verb = {"POST": "create", "PATCH": "patch", "PUT": "update"}.get(method) or (
            "delete" if name else "deletecollection"
        )
    return Access(verb, group, f"{plural}/{sub}" if sub else plural)
