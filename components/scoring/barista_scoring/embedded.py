"""The scoring component inside ``barista up``: the HTTP API on 127.0.0.1 and a demo.

The port is ``BARISTA_SCORING_UP_PORT`` (default 0: any free port). Batch tables live in the
embedded ClickHouse (database ``barista``).
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from barista_core.dataplane import DataPlane, Service
from barista_scoring.api import create_app
from barista_scoring.batch import ensure_tables, run_batch
from barista_scoring.scorer import default_scorer
from barista_scoring.server import serve_in_background

DATABASE = "barista"

#: A few followers of a demo creator: two people (Tamil and Devanagari names), two bought accounts.
DEMO_FOLLOWERS = (
    {"handle": "suresh_kumar_92", "full_name": "சுரேஷ் குமார்", "follower_count": 412, "following_count": 380,
     "post_count": 57, "has_profile_pic": True, "biography": "Chennai | Foodie", "is_private": False},
    {"handle": "priya.sharma", "full_name": "प्रिया शर्मा", "follower_count": 520, "following_count": 480,
     "post_count": 90, "has_profile_pic": True, "biography": "", "is_private": True},
    {"handle": "user83746251", "full_name": "", "follower_count": 3, "following_count": 7120, "post_count": 0,
     "has_profile_pic": False, "biography": "", "is_private": False},
    {"handle": "rahul.k83746", "full_name": "ਗੁਰਪ੍ਰੀਤ ਸਿੰਘ", "follower_count": 14, "following_count": 3300,
     "post_count": 1, "has_profile_pic": True, "biography": "", "is_private": False},
)  # fmt: skip


def service(database: str = DATABASE) -> Service:
    """The scoring API (and, for the demo, the ClickHouse batch tables in ``database``) inside ``barista up``."""

    @asynccontextmanager
    async def start(plane: DataPlane) -> AsyncIterator[None]:
        async with _start(plane, database):
            yield

    async def demo(plane: DataPlane) -> list[str]:
        return await _demo(plane, database)

    return Service(name="scoring", start=start, demo=demo, order=60)


@asynccontextmanager
async def _start(plane: DataPlane, database: str) -> AsyncIterator[None]:
    scorer = await asyncio.to_thread(default_scorer)
    await asyncio.to_thread(lambda: scorer.model)
    if plane.clickhouse is not None:
        await asyncio.to_thread(ensure_tables, plane.clickhouse, database)
    port = int(os.environ.get("BARISTA_SCORING_UP_PORT", "0"))
    async with serve_in_background(create_app(scorer), "127.0.0.1", port) as url:
        plane.endpoints.append(("scoring", f"{url}/v1/score"))
        plane.shared["scoring_url"] = url
        yield


def _post(url: str, body: dict[str, object]) -> dict[str, object]:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the demo only calls the local scoring API, not {url}")
    request = urllib.request.Request(  # noqa: S310 (checked above)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (checked above)
        return json.loads(response.read())


async def _demo(plane: DataPlane, database: str) -> list[str]:
    lines: list[str] = []
    url = plane.shared["scoring_url"]
    answer = await asyncio.to_thread(_post, f"{url}/v1/score", {"profiles": list(DEMO_FOLLOWERS), "explain": False})
    for score in answer["scores"]:  # type: ignore[union-attr]
        lines.append(
            f"POST /v1/score {score['handle']:<16} p(fake)={score['probability']:.2f} {score['label']:<10} "
            f"— {score['top_reason']}"
        )
    if plane.clickhouse is not None:
        report = await asyncio.to_thread(_batch_demo, plane, database)
        lines.append(report)
    return lines


def _batch_demo(plane: DataPlane, database: str) -> str:
    client = plane.clickhouse
    now = datetime.now(UTC)
    rows = [["demo-creator", *(_row(f)), now] for f in DEMO_FOLLOWERS]
    client.insert(
        f"{database}.follower_snapshots",
        rows,
        column_names=[
            "creator_id",
            "follower_handle",
            "full_name",
            "biography",
            "follower_count",
            "following_count",
            "post_count",
            "has_profile_pic",
            "is_private",
            "is_verified",
            "external_url",
            "observed_at",
        ],
    )
    report = run_batch(client, default_scorer(), database=database, since_hours=1)
    share = client.query(
        f"SELECT followers_scored, fake, suspicious, fake_share FROM {database}.creator_fake_share FINAL "
        "WHERE creator_id = 'demo-creator'"
    ).result_rows[0]
    return (
        f"batch: scored {report.profiles} follower snapshot(s) from ClickHouse in {report.seconds:.2f} s; "
        f"demo-creator: {share[0]} followers scored, {share[1]} fake, {share[2]} suspicious "
        f"(fake share {share[3]:.0%}) in {database}.creator_fake_share"
    )


def _row(follower: dict[str, object]) -> list[object]:
    keys = ("handle", "full_name", "biography", "follower_count", "following_count", "post_count",
            "has_profile_pic", "is_private", "is_verified", "external_url")  # fmt: skip
    return [follower.get(k) for k in keys]
