"""The HTTP API over real HTTP (uvicorn on a free loopback port)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

import pytest

from barista_scoring.api import create_app
from barista_scoring.scorer import Scorer
from barista_scoring.server import serve_in_background


def call(method: str, url: str, body: bytes | None = None) -> tuple[int, dict | str]:
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


@pytest.fixture
async def api(scorer: Scorer) -> AsyncIterator[str]:
    async with serve_in_background(create_app(scorer, max_body_bytes=4 * 1024 * 1024)) as url:
        yield url


async def post(url: str, payload: object) -> tuple[int, dict | str]:
    return await asyncio.to_thread(call, "POST", f"{url}/v1/score", json.dumps(payload).encode())


async def test_scores_profiles_with_explanations(api: str) -> None:
    status, body = await post(api, {"profiles": [
        {"handle": "suresh_kumar_92", "full_name": "சுரேஷ் குமார்", "follower_count": 412, "following_count": 380,
         "post_count": 57, "has_profile_pic": True, "id": "f1"},
        {"handle": "user83746251", "full_name": "", "follower_count": 3, "following_count": 7120, "post_count": 0},
    ]})  # fmt: skip
    assert status == 200, body
    assert isinstance(body, dict)
    first, second = body["scores"]
    assert first["id"] == "f1" and first["label"] == "real" and first["script"] == "tamil"
    assert second["label"] == "fake" and second["probability"] > 0.9
    assert {c["feature"] for c in first["contributions"]} == set(body["model"]["features"])
    assert body["model"]["thresholds"]["fake"] == 0.65


async def test_explain_false_leaves_contributions_out(api: str) -> None:
    status, body = await post(api, {"profiles": [{"handle": "priya.sharma"}], "explain": False})
    assert status == 200 and isinstance(body, dict)
    assert "contributions" not in body["scores"][0] and body["scores"][0]["top_reason"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"profiles": []}, "profiles: List should have at least 1 item"),
        ({"profiles": [{"handle": "a"}] * 1001}, "profiles: List should have at most 1000 items"),
        ({"profiles": [{"full_name": "x"}]}, "profiles.0.handle: Field required"),
        ({"profiles": [{"handle": "a", "follower_count": "many"}]}, "profiles.0.follower_count"),
        ({"profiles": [{"handle": "a", "full_name": "x" * 300}]}, "at most 256 characters"),
        ({"profile": []}, "profiles: Field required"),
    ],
)
async def test_bad_input_is_a_clear_422(api: str, payload: object, fragment: str) -> None:
    status, body = await post(api, payload)
    assert status == 422
    assert isinstance(body, dict) and fragment in body["error"], body


async def test_body_that_is_not_json_is_a_422(api: str) -> None:
    status, body = await asyncio.to_thread(call, "POST", f"{api}/v1/score", b"{not json")
    assert status == 422 and isinstance(body, dict) and "invalid request" in body["error"]


async def test_oversized_body_is_a_413(api: str) -> None:
    payload = {"profiles": [{"handle": "a", "biography": "x" * 4000}] * 1000 + [{"handle": "b", "id": "y" * 300_000}]}
    status, body = await post(api, payload)
    assert status == 413 and isinstance(body, dict) and "exceeds" in body["error"]


async def test_health_readiness_and_metrics(api: str) -> None:
    await post(api, {"profiles": [{"handle": "user83746251"}]})
    status, body = await asyncio.to_thread(call, "GET", f"{api}/healthz")
    assert status == 200 and isinstance(body, dict) and body["status"] == "ok"
    status, body = await asyncio.to_thread(call, "GET", f"{api}/readyz")
    assert status == 200 and isinstance(body, dict) and body["checks"]["scorer"] == "ok"
    status, text = await asyncio.to_thread(call, "GET", f"{api}/metrics")
    assert status == 200 and isinstance(text, str)
    assert 'barista_scoring_profiles_scored_total{label="' in text and 'path="api"}' in text
    assert 'barista_scoring_requests_total{outcome="ok"}' in text
    assert "barista_scoring_request_seconds_bucket" in text
