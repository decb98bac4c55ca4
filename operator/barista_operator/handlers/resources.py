"""Handlers for the four kinds: accept (validate) the spec and report it in status.

Full reconciliation into children is the operator issue's work; until then each resource is
validated with the same rules as `barista validate` and its status says so truthfully.
"""

from __future__ import annotations

from typing import Any

import kopf

from barista_operator.api import GROUP, KINDS, VERSION, ResourceKind
from barista_operator.api.validation import validate_object
from barista_operator.conditions import set_condition


def accept(kind: ResourceKind, body: kopf.Body, patch: kopf.Patch) -> None:
    generation = body.get("metadata", {}).get("generation")
    document = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind.kind, **dict(body)}
    issues = validate_object(document)
    conditions = body.get("status", {}).get("conditions")
    if issues:
        message = "; ".join(str(i) for i in issues)[:32000]
        conditions = set_condition(
            conditions, type="Ready", status="False", reason="InvalidSpec", message=message, generation=generation
        )
        patch.status["phase"] = "Failed"
    else:
        conditions = set_condition(
            conditions,
            type="Ready",
            status="Unknown",
            reason="NotReconciled",
            message="spec is valid; this operator build does not reconcile it yet",
            generation=generation,
        )
        patch.status["phase"] = "Pending"
    patch.status["conditions"] = conditions
    if generation is not None:
        patch.status["observedGeneration"] = generation


def _register(kind: ResourceKind) -> None:
    def handler(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        accept(kind, body, patch)

    handler.__name__ = f"accept_{kind.singular}"
    for decorator in (kopf.on.create, kopf.on.update, kopf.on.resume):
        decorator(GROUP, VERSION, kind.plural, id=f"accept-{kind.singular}")(handler)


for _kind in KINDS:
    _register(_kind)
