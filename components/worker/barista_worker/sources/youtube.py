"""YouTube channels and their videos, through the YouTube Data API v3.

- ``youtube.channel``: ``GET {base}/channels?part=snippet,statistics,contentDetails&id=UC…`` (or
  ``forHandle=@handle``) → one ``profile.snapshot`` (platform ``youtube``; followers = subscribers,
  posts = videos; ``channel_id`` and ``views`` as well). A channel is a creator profile here, so
  YouTube creators reach the same models and leaderboards as Instagram ones.
- ``youtube.videos``: the channel's uploads playlist → ``playlistItems`` pages of 50 video ids (up to
  ``max_pages``) → ``videos?part=snippet,statistics,contentDetails&id=…`` → one ``post.snapshot`` per
  video (post_id = video id; views, likes, comments, posted_at, title, duration).

The API key comes from the credentials Secret (key ``api-key``) and is sent in the
``X-Goog-Api-Key`` header, so it never appears in a URL or a log line. Every call costs one quota
unit. Targets: a channel id (``UC`` + 22 characters), ``@handle``, or a bare handle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from barista_worker.model import FetchRequest, Parsed, ParseError, Snapshot, TargetFailed
from barista_worker.sources.common import USER_AGENT, compact, count, items, obj, text

PLATFORM = "youtube"
_CHANNEL_ID = re.compile(r"^UC[0-9A-Za-z_-]{22}$")
_HANDLE = re.compile(r"^@?[\w.\-·]{3,100}$")
PLAYLIST_PAGE = 50


class YouTubeFlow:
    def __init__(self, source: str, *, base_url: str, max_pages: int, api_key: str) -> None:
        if source not in ("youtube.channel", "youtube.videos"):
            raise ValueError(f"not a YouTube source: {source}")
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.max_pages = max_pages
        self.headers = {"x-goog-api-key": api_key, "accept": "application/json", "user-agent": USER_AGENT}

    def limiter_scope(self) -> str:
        return PLATFORM

    def start(self, target: str) -> Sequence[FetchRequest]:
        value = target.strip()
        value = re.sub(r"^https?://(www\.)?youtube\.com/(channel/)?", "", value).strip("/")
        if _CHANNEL_ID.fullmatch(value):
            selector = {"id": value}
        elif _HANDLE.fullmatch(value):
            selector = {"forHandle": value if value.startswith("@") else "@" + value}
        else:
            raise TargetFailed("invalid_target", f"{target!r} is neither a channel id nor a handle")
        part = "snippet,statistics,contentDetails" if self.source == "youtube.channel" else "snippet,contentDetails"
        return [
            FetchRequest(
                url=f"{self.base_url}/channels",
                params={"part": part, **selector},
                headers=self.headers,
                step="channel",
                state={"target": value},
            )
        ]

    def parse(self, target: str, request: FetchRequest, body: Any) -> Parsed:
        answer = obj(body, "the answer")
        if request.step == "channel":
            return self._channel(request, answer)
        if request.step == "uploads":
            return self._uploads(request, answer)
        if request.step == "videos":
            return self._videos(request, answer)
        raise ParseError(f"unknown step {request.step!r}")

    def _channel(self, request: FetchRequest, answer: Mapping[str, Any]) -> Parsed:
        found = answer.get("items") or []
        if not found:
            raise ParseError(f"no YouTube channel {request.state['target']!r}", reason="not_found")
        channel = obj(items(found, "items")[0], "items[0]")
        channel_id = text(channel.get("id"))
        if channel_id is None:
            raise ParseError("items[0].id is missing")
        snippet = channel.get("snippet") if isinstance(channel.get("snippet"), Mapping) else {}
        handle = channel_handle(channel_id, snippet)
        if self.source == "youtube.channel":
            return Parsed(snapshots=[Snapshot("profile.snapshot", handle, channel_properties(handle, channel))])
        details = obj(channel.get("contentDetails"), "items[0].contentDetails")
        related = obj(details.get("relatedPlaylists"), "items[0].contentDetails.relatedPlaylists")
        uploads = text(related.get("uploads"))
        if uploads is None:
            raise ParseError("the channel has no uploads playlist")
        return Parsed(follow=[self._uploads_request(uploads, handle, channel_id, page=1, token=None)])

    def _uploads_request(
        self, playlist: str, handle: str, channel_id: str, *, page: int, token: str | None
    ) -> FetchRequest:
        params = {"part": "contentDetails", "playlistId": playlist, "maxResults": str(PLAYLIST_PAGE)}
        if token:
            params["pageToken"] = token
        return FetchRequest(
            url=f"{self.base_url}/playlistItems",
            params=params,
            headers=self.headers,
            step="uploads",
            page=page,
            state={"handle": handle, "channel_id": channel_id, "playlist": playlist},
        )

    def _uploads(self, request: FetchRequest, answer: Mapping[str, Any]) -> Parsed:
        ids = []
        for index, item in enumerate(items(answer.get("items", []), "items")):
            details = obj(obj(item, f"items[{index}]").get("contentDetails"), f"items[{index}].contentDetails")
            video_id = text(details.get("videoId"))
            if video_id is None:
                raise ParseError(f"items[{index}].contentDetails.videoId is missing")
            ids.append(video_id)
        follow: list[FetchRequest] = []
        if ids:
            follow.append(
                FetchRequest(
                    url=f"{self.base_url}/videos",
                    params={"part": "snippet,statistics,contentDetails", "id": ",".join(ids)},
                    headers=self.headers,
                    step="videos",
                    page=request.page,
                    state=request.state,
                )
            )
        token = text(answer.get("nextPageToken"))
        if token and request.page < self.max_pages:
            state = request.state
            follow.append(
                self._uploads_request(
                    str(state["playlist"]),
                    str(state["handle"]),
                    str(state["channel_id"]),
                    page=request.page + 1,
                    token=token,
                )
            )
        return Parsed(follow=follow)

    def _videos(self, request: FetchRequest, answer: Mapping[str, Any]) -> Parsed:
        handle = str(request.state["handle"])
        snapshots = []
        for index, video in enumerate(items(answer.get("items", []), "items")):
            video = obj(video, f"items[{index}]")
            video_id = text(video.get("id"))
            if video_id is None:
                raise ParseError(f"items[{index}].id is missing")
            snapshots.append(
                Snapshot(
                    "post.snapshot",
                    f"{handle}/{video_id}",
                    video_properties(handle, str(request.state["channel_id"]), video),
                )
            )
        return Parsed(snapshots=snapshots)


def channel_handle(channel_id: str, snippet: Mapping[str, Any]) -> str:
    """The channel's handle (``customUrl`` without ``@``), else its id."""
    custom = text(snippet.get("customUrl"))
    return custom.removeprefix("@") if custom else channel_id


def channel_properties(handle: str, channel: Mapping[str, Any]) -> dict[str, Any]:
    snippet = channel.get("snippet") if isinstance(channel.get("snippet"), Mapping) else {}
    statistics = channel.get("statistics") if isinstance(channel.get("statistics"), Mapping) else {}
    hidden = statistics.get("hiddenSubscriberCount") is True
    return compact(
        {
            "platform": PLATFORM,
            "handle": handle,
            "channel_id": text(channel.get("id")),
            "platform_id": text(channel.get("id")),
            "display_name": text(snippet.get("title"), 200),
            "bio": text(snippet.get("description")),
            "country": text(snippet.get("country"), 2),
            "language": text(snippet.get("defaultLanguage"), 2),
            "followers": None if hidden else count(statistics.get("subscriberCount")),
            "posts": count(statistics.get("videoCount")),
            "views": count(statistics.get("viewCount")),
            "created_at": text(snippet.get("publishedAt"), 40),
        }
    )


def video_properties(handle: str, channel_id: str, video: Mapping[str, Any]) -> dict[str, Any]:
    snippet = video.get("snippet") if isinstance(video.get("snippet"), Mapping) else {}
    statistics = video.get("statistics") if isinstance(video.get("statistics"), Mapping) else {}
    details = video.get("contentDetails") if isinstance(video.get("contentDetails"), Mapping) else {}
    video_id = text(video.get("id"))
    return compact(
        {
            "platform": PLATFORM,
            "post_id": video_id,
            "handle": handle,
            "channel_id": channel_id,
            "media_type": "video",
            "title": text(snippet.get("title"), 500),
            "caption": text(snippet.get("description")),
            "posted_at": text(snippet.get("publishedAt"), 40),
            "views": count(statistics.get("viewCount")),
            "likes": count(statistics.get("likeCount")),
            "comments": count(statistics.get("commentCount")),
            "duration": text(details.get("duration"), 40),
            "url": f"https://www.youtube.com/watch?v={video_id}",
        }
    )
