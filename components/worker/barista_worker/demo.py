"""The demo creators API ``barista up`` scrapes (there is no internet there): a stand-in for a
third-party JSON API, served by :class:`~barista_worker.localserver.LocalJsonServer`.

``GET /demo/creators/<category>.json`` →
``{"category": "travel", "creators": [{"platform", "username", "name", "bio", "country",
"verified", "stats": {"followers", "following", "posts"}}]}``. Follower counts grow a little every
minute, so each run observes something new. Unknown categories answer 404.
"""

from __future__ import annotations

import time
from typing import Any

CREATORS: dict[str, list[tuple[str, str, str, str, int]]] = {
    # category: (username, name, bio, country, followers at minute 0)
    "travel": [
        ("wander.lena", "Lena Wanders", "Slow travel across Europe and Asia. Trip notes and maps.", "DE", 182_400),
        ("ghumakkad.dev", "Dev Sharma", "घुमक्कड़ी और पहाड़ों की कहानियाँ, हर हफ्ते नई यात्रा", "IN", 96_300),
        ("nomad.sol", "Sol Rivera", "Viajes por América Latina con mochila y cámara", "MX", 54_900),
    ],
    "food": [
        ("chef.amara", "Amara Okafor", "Chef and recipe developer: West African kitchen at home.", "NG", 240_100),
        ("masala.kitchen", "Priya Iyer", "South Indian recipes, baking and restaurant reviews", "IN", 131_700),
        ("la.cuisine.de.jules", "Jules Martin", "Les recettes de la semaine et le pain du dimanche", "FR", 45_200),
    ],
    "tech": [
        ("gadget.kai", "Kai Tanaka", "Unboxing gadgets and honest tech reviews for developers.", "JP", 310_500),
        ("code.with.mira", "Mira Novak", "Learning to code, one tutorial at a time. Software and AI.", "CZ", 77_800),
    ],
    "fitness": [
        ("lift.with.leo", "Leo Brandt", "Strength coach: gym workouts and running plans.", "AT", 158_000),
        ("yoga.anika", "Anika Rao", "Yoga, breath and mobility for busy people", "IN", 88_400),
    ],
}


def creators(category: str, *, now: float | None = None) -> dict[str, Any] | None:
    rows = CREATORS.get(category)
    if rows is None:
        return None
    minute = int((time.time() if now is None else now) // 60)
    return {
        "category": category,
        "creators": [
            {
                "platform": "instagram",
                "username": username,
                "name": name,
                "bio": bio,
                "country": country,
                "verified": followers > 200_000,
                "stats": {
                    "followers": followers + (minute % 10_000) * (followers // 50_000 + 1),
                    "following": 100 + len(username) * 17,
                    "posts": 300 + followers // 1000,
                },
            }
            for username, name, bio, country, followers in rows
        ],
    }


def handler(method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
    prefix, suffix = "/demo/creators/", ".json"
    if method != "GET" or not path.startswith(prefix) or not path.endswith(suffix):
        return 404, {"error": "not found"}
    body = creators(path[len(prefix) : -len(suffix)])
    return (200, body) if body is not None else (404, {"error": "unknown category"})


#: The http.json mapping of the demo flow (what a ScrapeFlow's ``spec.http`` would say).
HTTP_JSON_FIELDS = {
    "platform": "platform",
    "handle": "username",
    "display_name": "name",
    "bio": "bio",
    "country": "country",
    "verified": "verified",
    "followers": "stats.followers",
    "following": "stats.following",
    "posts": "stats.posts",
}
