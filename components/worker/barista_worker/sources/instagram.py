"""Instagram: profiles, recent posts and followers.

Instagram has no public API for this. These flows follow the JSON shapes of the endpoints the
Instagram web and mobile apps call, as documented by open-source clients (instaloader, instagrapi):

- ``GET {base}/api/v1/users/web_profile_info/?username=<handle>`` with ``x-ig-app-id`` →
  ``{"data": {"user": {"id", "username", "full_name", "biography", "edge_followed_by": {"count"},
  "edge_follow": {"count"}, "edge_owner_to_timeline_media": {"count", "edges": [{"node": …}]},
  "is_verified", "is_private", "category_name", …}}, "status": "ok"}`` (``user`` null when unknown);
- ``GET {base}/api/v1/feed/user/<user id>/?count=12[&max_id=…]`` → ``{"items": [{"pk", "code",
  "taken_at", "media_type", "like_count", "comment_count", "play_count", "caption": {"text"}}],
  "more_available", "next_max_id"}``;
- ``GET {base}/api/v1/friendships/<user id>/followers/?count=50[&max_id=…]`` → ``{"users": [{"pk",
  "username", "full_name", "is_private", "is_verified", "has_anonymous_profile_picture"}],
  "next_max_id"}``.

The feed and followers endpoints need a logged-in session: put ``sessionid`` (or a whole ``cookie``
header) in the flow's credentials Secret. None of this is tested against the real service; the base URL
is configurable (``BARISTA_INSTAGRAM_BASE_URL``) and the tests serve these shapes locally.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from barista_worker.model import FetchRequest, Parsed, ParseError, Snapshot, TargetFailed
from barista_worker.sources.common import BROWSER_USER_AGENT, compact, count, epoch_iso, items, obj, text

PLATFORM = "instagram"
#: The public app id the Instagram web client sends; web_profile_info answers 400 without it.
WEB_APP_ID = "936619743392459"
_HANDLE = re.compile(r"^[A-Za-z0-9._]{1,30}$")
_MEDIA_TYPES = {1: "photo", 2: "video", 8: "carousel"}
FEED_PAGE = 12
FOLLOWERS_PAGE = 50


def handle_of(target: str) -> str:
    """``@NatGeo`` / ``https://www.instagram.com/natgeo/`` → ``natgeo``."""
    value = target.strip()
    value = re.sub(r"^https?://(www\.)?instagram\.com/", "", value).strip("/").removeprefix("@").lower()
    if not _HANDLE.fullmatch(value):
        raise TargetFailed("invalid_target", f"{target!r} is not an Instagram handle")
    return value


class InstagramFlow:
    def __init__(
        self,
        source: str,
        *,
        base_url: str,
        max_pages: int,
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        if source not in ("instagram.profile", "instagram.posts", "instagram.followers"):
            raise ValueError(f"not an Instagram source: {source}")
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.max_pages = max_pages
        credentials = credentials or {}
        self.headers = {"x-ig-app-id": WEB_APP_ID, "user-agent": BROWSER_USER_AGENT, "accept": "application/json"}
        if credentials.get("cookie"):
            self.headers["cookie"] = credentials["cookie"]
        elif credentials.get("sessionid"):
            self.headers["cookie"] = f"sessionid={credentials['sessionid']}"

    def limiter_scope(self) -> str:
        return PLATFORM

    def start(self, target: str) -> Sequence[FetchRequest]:
        handle = handle_of(target)
        return [
            FetchRequest(
                url=f"{self.base_url}/api/v1/users/web_profile_info/",
                params={"username": handle},
                headers=self.headers,
                step="profile",
                state={"handle": handle},
            )
        ]

    def parse(self, target: str, request: FetchRequest, body: Any) -> Parsed:
        handle = str(request.state["handle"])
        if request.step == "profile":
            return self._profile(handle, body)
        if request.step == "feed":
            return self._feed(handle, request, body)
        if request.step == "followers":
            return self._followers(handle, request, body)
        raise ParseError(f"unknown step {request.step!r}")

    # ---- steps -------------------------------------------------------------------------------------

    def _profile(self, handle: str, body: Any) -> Parsed:
        data = obj(obj(body, "the answer").get("data"), "data")
        user = data.get("user")
        if user is None:
            raise ParseError(f"no Instagram user {handle!r}", reason="not_found")
        user = obj(user, "data.user")
        user_id = text(user.get("id"))
        if user_id is None:
            raise ParseError("data.user.id is missing")
        if self.source == "instagram.profile":
            return Parsed(snapshots=[Snapshot("profile.snapshot", handle, profile_properties(handle, user))])
        step, path, page_size = (
            ("feed", f"/api/v1/feed/user/{user_id}/", FEED_PAGE)
            if self.source == "instagram.posts"
            else ("followers", f"/api/v1/friendships/{user_id}/followers/", FOLLOWERS_PAGE)
        )
        first = FetchRequest(
            url=self.base_url + path,
            params={"count": str(page_size)},
            headers=self.headers,
            step=step,
            state={"handle": handle, "user_id": user_id},
        )
        return Parsed(follow=[first])

    def _next_page(self, request: FetchRequest, body: Mapping[str, Any], more: bool) -> list[FetchRequest]:
        cursor = body.get("next_max_id")
        if not more or not cursor or request.page >= self.max_pages:
            return []
        params = {**request.params, "max_id": str(cursor)}
        return [
            FetchRequest(
                url=request.url,
                params=params,
                headers=request.headers,
                step=request.step,
                page=request.page + 1,
                state=request.state,
            )
        ]

    def _feed(self, handle: str, request: FetchRequest, body: Any) -> Parsed:
        answer = obj(body, "the answer")
        snapshots = []
        for index, item in enumerate(items(answer.get("items"), "items")):
            item = obj(item, f"items[{index}]")
            code = text(item.get("code"))
            if code is None:
                raise ParseError(f"items[{index}].code is missing")
            snapshots.append(Snapshot("post.snapshot", f"{handle}/{code}", post_properties(handle, item)))
        return Parsed(snapshots=snapshots, follow=self._next_page(request, answer, bool(answer.get("more_available"))))

    def _followers(self, handle: str, request: FetchRequest, body: Any) -> Parsed:
        answer = obj(body, "the answer")
        snapshots = []
        for index, user in enumerate(items(answer.get("users"), "users")):
            user = obj(user, f"users[{index}]")
            follower = text(user.get("username"))
            if follower is None:
                raise ParseError(f"users[{index}].username is missing")
            properties = compact(
                {
                    "platform": PLATFORM,
                    "handle": handle,
                    "follower_handle": follower,
                    "follower_id": text(str(user.get("pk") or "")),
                    "follower_name": text(user.get("full_name"), 200),
                    "follower_verified": _bool(user.get("is_verified")),
                    "follower_private": _bool(user.get("is_private")),
                    "follower_has_picture": (
                        None
                        if user.get("has_anonymous_profile_picture") is None
                        else not bool(user.get("has_anonymous_profile_picture"))
                    ),
                }
            )
            snapshots.append(Snapshot("follower.snapshot", f"{handle}/{follower}", properties))
        return Parsed(snapshots=snapshots, follow=self._next_page(request, answer, more=True))


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _edge_count(user: Mapping[str, Any], name: str) -> int | None:
    edge = user.get(name)
    return count(edge.get("count")) if isinstance(edge, Mapping) else None


def profile_properties(handle: str, user: Mapping[str, Any]) -> dict[str, Any]:
    followers = _edge_count(user, "edge_followed_by")
    return compact(
        {
            "platform": PLATFORM,
            "handle": handle,
            "platform_id": text(user.get("id")),
            "display_name": text(user.get("full_name"), 200),
            "bio": text(user.get("biography")),
            "category": text(user.get("category_name") or user.get("business_category_name"), 100),
            "followers": followers,
            "following": _edge_count(user, "edge_follow"),
            "posts": _edge_count(user, "edge_owner_to_timeline_media"),
            "verified": _bool(user.get("is_verified")),
            "private": _bool(user.get("is_private")),
            "business": _bool(user.get("is_business_account")),
            "external_url": text(user.get("external_url"), 500),
            "has_picture": bool(user.get("profile_pic_url_hd") or user.get("profile_pic_url")),
            "engagement_rate": engagement_rate(user, followers),
        }
    )


def engagement_rate(user: Mapping[str, Any], followers: int | None) -> float | None:
    """Mean (likes + comments) / followers over the recent posts the profile answer carries."""
    media = user.get("edge_owner_to_timeline_media")
    edges = media.get("edges") if isinstance(media, Mapping) else None
    if not followers or not isinstance(edges, list) or not edges:
        return None
    rates = []
    for edge in edges:
        node = edge.get("node") if isinstance(edge, Mapping) else None
        if not isinstance(node, Mapping):
            continue
        likes = _edge_count(node, "edge_liked_by") or _edge_count(node, "edge_media_preview_like") or 0
        comments = _edge_count(node, "edge_media_to_comment") or 0
        rates.append((likes + comments) / followers)
    return round(sum(rates) / len(rates), 6) if rates else None


def post_properties(handle: str, item: Mapping[str, Any]) -> dict[str, Any]:
    caption = item.get("caption")
    return compact(
        {
            "platform": PLATFORM,
            "post_id": text(item.get("code")),
            "handle": handle,
            "media_id": text(str(item.get("pk") or "")),
            "media_type": _MEDIA_TYPES.get(item.get("media_type")),  # type: ignore[arg-type]
            "likes": count(item.get("like_count")),
            "comments": count(item.get("comment_count")),
            "views": count(item.get("play_count") if item.get("play_count") is not None else item.get("view_count")),
            "posted_at": epoch_iso(item.get("taken_at")),
            "caption": text(caption.get("text")) if isinstance(caption, Mapping) else None,
            "url": f"https://www.instagram.com/p/{item.get('code')}/",
        }
    )
