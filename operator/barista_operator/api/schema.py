"""Turn the pydantic resource types into CustomResourceDefinitions.

Pydantic emits JSON Schema 2020-12; Kubernetes wants a *structural* OpenAPI v3 subset: no $ref,
no anyOf-with-null, no titles, no ``additionalProperties`` beside ``properties``. This module
does that translation and nothing else, so ``crds/*.yaml`` is always derivable from the types.
"""

from __future__ import annotations

from typing import Any

from barista_operator.api.meta import CATEGORY, GROUP, VERSION, CrdModel, ResourceKind

_KEEP = {
    "type",
    "description",
    "properties",
    "required",
    "items",
    "enum",
    "default",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "additionalProperties",
    "nullable",
}


def structural_schema(model: type[CrdModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation", ref_template="#/$defs/{model}")
    defs = raw.pop("$defs", {})
    return _convert(raw, defs)


def _convert(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    node = dict(node)
    if "$ref" in node:
        target = defs[node.pop("$ref").rsplit("/", 1)[-1]]
        merged = {**target, **node}  # a field's own description wins over the type's docstring
        return _convert(merged, defs)
    if "anyOf" in node:
        branches = [b for b in node.pop("anyOf") if b.get("type") != "null"]
        if len(branches) != 1:
            raise ValueError(f"unions other than Optional[X] cannot be expressed structurally: {branches}")
        if node.get("default", ...) is None:
            node.pop("default")
        return _convert({**branches[0], **{k: v for k, v in node.items() if k != "title"}}, defs)
    if "const" in node:
        node["enum"] = [node.pop("const")]

    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key in _KEEP:
            out[key] = value
    if "enum" in out and "type" not in out:
        out["type"] = "string"

    if out.get("type") == "object" or "properties" in out:
        out["type"] = "object"
        if "properties" in out:
            out["properties"] = {name: _convert(sub, defs) for name, sub in out["properties"].items()}
            out.pop("additionalProperties", None)
        elif out.get("x-kubernetes-preserve-unknown-fields"):
            out.pop("additionalProperties", None)
        elif isinstance(out.get("additionalProperties"), dict):
            out["additionalProperties"] = _convert(out["additionalProperties"], defs)
    if out.get("type") == "array" and "items" in out:
        out["items"] = _convert(out["items"], defs)
    if out.get("required") == []:
        out.pop("required")
    if node.get("default", ...) is None:
        out.pop("default", None)
    return out


def crd_for(kind: ResourceKind) -> dict[str, Any]:
    """The CustomResourceDefinition manifest for ``kind``."""
    spec_schema = structural_schema(kind.spec_model)
    status_schema = structural_schema(kind.status_model)
    root: dict[str, Any] = {
        "type": "object",
        "description": kind.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "API version of this object (barista.dev/v1alpha1)."},
            "kind": {"type": "string", "description": f"Always {kind.kind}."},
            "metadata": {"type": "object"},
            "spec": spec_schema,
            "status": status_schema,
        },
    }
    if kind.root_rules:
        root["x-kubernetes-validations"] = [dict(rule) for rule in kind.root_rules]
    columns = [
        {
            "name": column.name,
            "type": column.type,
            "jsonPath": column.json_path,
            **({"description": column.description} if column.description else {}),
            **({"priority": column.priority} if column.priority else {}),
        }
        for column in kind.printer_columns
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": kind.crd_name,
            "labels": {"app.kubernetes.io/name": "barista", "app.kubernetes.io/part-of": "barista"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": list(kind.short_names),
                "categories": [CATEGORY],
            },
            "scope": "Namespaced" if kind.namespaced else "Cluster",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


def undocumented_fields(schema: dict[str, Any], path: str = "") -> list[str]:
    """Paths of properties without a description (every field must explain itself)."""
    missing: list[str] = []
    for name, sub in schema.get("properties", {}).items():
        here = f"{path}.{name}"
        if not sub.get("description") and name not in ("metadata",):
            missing.append(here)
        missing += undocumented_fields(sub, here)
        if sub.get("type") == "array":
            missing += undocumented_fields(sub.get("items", {}), f"{here}[]")
    return missing
