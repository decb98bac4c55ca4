"""Kubernetes-convention status conditions, as pure functions over plain dicts."""

from __future__ import annotations

import datetime
from typing import Any, Literal

Status = Literal["True", "False", "Unknown"]


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def set_condition(
    conditions: list[dict[str, Any]] | None,
    *,
    type: str,
    status: Status,
    reason: str,
    message: str = "",
    generation: int | None = None,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """A new condition list with ``type`` set; lastTransitionTime moves only when the status changes."""
    out = [dict(c) for c in conditions or []]
    existing = next((c for c in out if c.get("type") == type), None)
    changed = existing is None or existing.get("status") != status
    condition: dict[str, Any] = {
        "type": type,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": (now or now_rfc3339()) if changed else existing["lastTransitionTime"],  # type: ignore[index]
    }
    if generation is not None:
        condition["observedGeneration"] = generation
    if existing is None:
        out.append(condition)
    else:
        out[out.index(existing)] = condition
    return out


def get_condition(conditions: list[dict[str, Any]] | None, type: str) -> dict[str, Any] | None:
    return next((c for c in conditions or [] if c.get("type") == type), None)
