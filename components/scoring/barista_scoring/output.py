"""Scores as JSON-ready dicts (one shape for the API, the CLI and logs)."""

from __future__ import annotations

from typing import Any

from barista_scoring.scorer import Score


def score_to_dict(score: Score, *, explain: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": score.id,
        "handle": score.handle,
        "probability": round(score.probability, 4),
        "label": score.label.value,
        "confidence": round(score.confidence, 3),
        "script": score.script.value,
        "top_reason": score.top_reason,
    }
    if explain:
        out["contributions"] = [
            {
                "feature": c.feature,
                "value": None if c.value is None else round(c.value, 4),
                "contribution": round(c.contribution, 4),
                "reason": c.reason,
            }
            for c in score.contributions
        ]
    return out
