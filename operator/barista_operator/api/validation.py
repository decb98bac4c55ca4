"""Validate Barista custom resources offline, as the API server would (and a little more).

Order, as in kube-apiserver: structural defaulting, then the OpenAPI schema (strict: unknown fields
are errors, like ``kubectl --validate=strict``), then the CEL rules (``x-kubernetes-validations``).
Then the checks CEL cannot express (cycles between pipeline steps). Each problem is reported with a
Kubernetes-style field path (``spec.steps[1].after``) and a reason a person can act on.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import celpy
import jsonschema
from jsonschema.exceptions import ValidationError as SchemaError

from barista_operator.api import API_VERSION, KINDS_BY_NAME, ResourceKind
from barista_operator.api.schema import crd_for


@dataclass(frozen=True, slots=True)
class Issue:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@cache
def openapi_schema(kind: ResourceKind) -> dict[str, Any]:
    return crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


@cache
def _strict_validator(kind: ResourceKind) -> jsonschema.protocols.Validator:
    schema = _strict(copy.deepcopy(openapi_schema(kind)))
    schema["properties"].pop("status", None)
    return jsonschema.Draft7Validator(schema)


def _strict(node: dict[str, Any]) -> dict[str, Any]:
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields") and node is not None:
        node["additionalProperties"] = False
    for sub in node.get("properties", {}).values():
        _strict(sub)
    if isinstance(node.get("items"), dict):
        _strict(node["items"])
    if isinstance(node.get("additionalProperties"), dict):
        _strict(node["additionalProperties"])
    return node


def validate_object(obj: Any) -> list[Issue]:
    """All problems with one custom resource document; an empty list means valid."""
    if not isinstance(obj, dict):
        return [Issue("", f"expected a mapping (a Kubernetes object), got {_type_name(obj)}")]
    issues: list[Issue] = []
    if obj.get("apiVersion") != API_VERSION:
        issues.append(Issue("apiVersion", f"must be {API_VERSION} (got {_show(obj.get('apiVersion'))})"))
    kind = KINDS_BY_NAME.get(obj.get("kind"))  # type: ignore[arg-type]
    if kind is None:
        known = ", ".join(KINDS_BY_NAME)
        issues.append(Issue("kind", f"must be one of {known} (got {_show(obj.get('kind'))})"))
        return issues
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        issues.append(Issue("metadata.name", "required field missing"))
    elif not kind.namespaced and metadata.get("namespace"):
        issues.append(Issue("metadata.namespace", f"{kind.kind} is cluster-scoped: remove the namespace"))
    if issues:
        return issues

    defaulted = apply_defaults(kind, obj)
    schema = openapi_schema(kind)
    # root rules may only read metadata (as in the API server), so they run whatever the spec holds
    issues += _rule_issues(schema.get("x-kubernetes-validations", []), {"metadata": metadata}, "")
    schema_issues = _schema_issues(kind, defaulted)
    issues += schema_issues
    broken = [issue.path for issue in schema_issues]
    for name in ("spec",):
        issues += _cel_issues(schema["properties"][name], defaulted.get(name), name, broken)
    if not issues:
        issues += _semantic_issues(kind, defaulted)
    return issues


def apply_defaults(kind: ResourceKind, obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` with the schema's defaults filled in, as the API server stores it."""
    out = copy.deepcopy(obj)
    out.pop("status", None)
    _default(openapi_schema(kind), out)
    return out


def _default(schema: dict[str, Any], value: Any) -> None:
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                _default(sub, value[name])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _default(schema["items"], item)


def _schema_issues(kind: ResourceKind, obj: dict[str, Any]) -> list[Issue]:
    issues = []
    for error in sorted(_strict_validator(kind).iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
        issues.extend(_describe(error))
    return issues


def _describe(error: SchemaError) -> list[Issue]:
    path = _path(error.absolute_path)
    validator, expected, got = error.validator, error.validator_value, error.instance
    if validator == "required":
        missing = [name for name in expected if isinstance(got, dict) and name not in got]
        return [Issue(_join(path, name), "required field missing") for name in missing]
    if validator == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        extra = sorted(k for k in got if k not in known) if isinstance(got, dict) else []
        hint = f" (known fields: {', '.join(sorted(known))})" if known else ""
        return [Issue(_join(path, name), f"unknown field{hint}") for name in extra]
    messages = {
        "enum": lambda: f"must be one of {', '.join(map(_show, expected))} (got {_show(got)})",
        "type": lambda: f"must be {_article(expected)} (got {_type_name(got)} {_show(got)})",
        "pattern": lambda: f"{_show(got)} does not match {expected}",
        "minimum": lambda: f"must be at least {expected} (got {_show(got)})",
        "maximum": lambda: f"must be at most {expected} (got {_show(got)})",
        "minLength": lambda: f"must be at least {expected} characters long",
        "maxLength": lambda: f"must be at most {expected} characters long (got {len(got)})",
        "minItems": lambda: f"must have at least {expected} item{'s' if expected != 1 else ''}",
        "maxItems": lambda: f"must have at most {expected} items (got {len(got)})",
        "maxProperties": lambda: f"must have at most {expected} entries (got {len(got)})",
    }
    describe = messages.get(str(validator))
    return [Issue(path, describe() if describe else error.message)]


# ---- CEL -------------------------------------------------------------------------------------------

_cel_env = celpy.Environment()


@cache
def _program(rule: str) -> celpy.Runner:
    return _cel_env.program(_cel_env.compile(rule))


def _cel_issues(schema: dict[str, Any], value: Any, path: str, broken: list[str]) -> list[Issue]:
    """CEL rules of every subtree that passed the schema (rules assume well-typed input)."""
    if any(p == path or p.startswith((path + ".", path + "[")) for p in broken):
        issues: list[Issue] = []  # something below is ill-typed: only descend
    else:
        issues = _rule_issues(schema.get("x-kubernetes-validations", []), value, path, schema.get("properties"))
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                issues += _cel_issues(sub, value[name], _join(path, name), broken)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            issues += _cel_issues(schema["items"], item, f"{path}[{index}]", broken)
    return issues


def _rule_issues(
    rules: list[dict[str, str]], value: Any, path: str, properties: dict[str, Any] | None = None
) -> list[Issue]:
    issues = []
    for rule in rules:
        if not _cel_holds(rule["rule"], _what_the_rule_reads(rule["rule"], value, properties)):
            field_path = rule.get("fieldPath", "")
            issues.append(Issue(path + field_path if path else field_path.lstrip("."), rule["message"]))
    return issues


_SELF_FIELD = re.compile(r"\bself\.([A-Za-z_][A-Za-z0-9_]*)")
_BARE_SELF = re.compile(r"\bself\b(?!\.[A-Za-z_])")


def _what_the_rule_reads(rule: str, value: Any, properties: dict[str, Any] | None) -> Any:
    """``value`` cut down to the fields ``rule`` names (``self.plan``, ``has(self.tenancy)``), so that the
    memo below hits for objects that differ only elsewhere (every Tenant has its own displayName). Only
    when every use of ``self`` is a field of the schema: a rule on ``self`` whole, or a macro on it
    (``self.all(...)``), gets the whole value."""
    fields = _fields_read(rule)
    if fields is None or not isinstance(value, dict) or not properties or not fields <= properties.keys():
        return value
    return {name: value[name] for name in fields if name in value}


@lru_cache(maxsize=1024)
def _fields_read(rule: str) -> frozenset[str] | None:
    """The fields of ``self`` that ``rule`` reads; None when it uses ``self`` otherwise than ``self.<field>``."""
    if _BARE_SELF.search(rule):
        return None
    return frozenset(_SELF_FIELD.findall(rule))


_NAME_RULE = re.compile(r"^size\(self\.metadata\.name\) <= (\d+) && self\.metadata\.name\.matches\('(.+)'\)$")


def _cel_holds(rule: str, value: Any) -> bool:
    """Whether ``rule`` holds for ``value``. Memoised by the value's JSON: the interpreter takes ~0.5 ms a
    rule, and an operator re-validates the same (or the same-shaped) specs again and again. The name rule
    every kind has (unique per object, so never a cache hit) is evaluated natively, with the same meaning."""
    native = _NAME_RULE.match(rule)
    if native is not None:
        name = value.get("metadata", {}).get("name") if isinstance(value, dict) else None
        return isinstance(name, str) and len(name) <= int(native[1]) and re.search(native[2], name) is not None
    return _cel_holds_json(rule, json.dumps(value, sort_keys=True))


@lru_cache(maxsize=65_536)
def _cel_holds_json(rule: str, value: str) -> bool:
    try:
        result = _program(rule).evaluate({"self": celpy.json_to_cel(json.loads(value))})
    except celpy.CELEvalError:
        return False
    return bool(result)


# ---- what CEL cannot say ----------------------------------------------------------------------------


def _semantic_issues(kind: ResourceKind, obj: dict[str, Any]) -> list[Issue]:
    if kind.kind == "Pipeline":
        return _pipeline_cycles(obj["spec"]["steps"])
    return []


def _pipeline_cycles(steps: list[dict[str, Any]]) -> list[Issue]:
    index = {step["name"]: i for i, step in enumerate(steps)}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name: str, trail: list[str]) -> list[str] | None:
        state[name] = 1
        for dep in steps[index[name]].get("after", []):
            if state.get(dep) == 1:
                return [*trail[trail.index(dep) :], dep] if dep in trail else [*trail, dep]
            if state.get(dep) is None and dep in index:
                found = visit(dep, [*trail, dep])
                if found:
                    return found
        state[name] = 2
        return None

    for step in steps:
        if state.get(step["name"]) is None:
            cycle = visit(step["name"], [step["name"]])
            if cycle:
                first = cycle[0]
                return [Issue(f"spec.steps[{index[first]}].after", f"steps form a cycle: {' -> '.join(cycle)}")]
    return []


# ---- formatting ------------------------------------------------------------------------------------


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _article(expected: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return " or ".join(("an " if n[0] in "aeiou" else "a ") + n for n in names)
