"""Every source's parser on hand-made answers of the documented shapes (tests/worker/fixtures/README.md),
and every snapshot it makes checked by the event catalogue's validator."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest

from barista_core.errors import ConfigError
from barista_core.events import EventInput, EventValidator
from barista_worker.jsonpath import compile_path
from barista_worker.model import FetchRequest, Flow, ParseError, Snapshot, TargetFailed
from barista_worker.sources.httpjson import HttpJsonFlow, parse_config
from barista_worker.sources.instagram import InstagramFlow
from barista_worker.sources.shopify import ShopifyFlow
from barista_worker.sources.youtube import YouTubeFlow
from tests.worker.conftest import fixture

BASE = "http://upstream.test"


def assert_valid_events(snapshots: Sequence[Snapshot]) -> None:
    """Each snapshot as the event the worker publishes passes catalogue validation."""
    validator = EventValidator()
    now_ms = int(time.time() * 1000)
    seen: set[str] = set()
    for index, snapshot in enumerate(snapshots):
        event = EventInput(
            id=f"00000000-0000-5000-8000-{index:012d}",
            type=snapshot.type,
            occurred_at_ms=now_ms,
            properties=snapshot.properties,
            context={"app_name": "barista-worker", "extra": {"flow": "f", "run": "r", "source": "s"}},
        )
        outcome = validator.check(event, now_ms=now_ms, received_at="2026-11-28T10:00:00.000Z", seen=seen)
        assert isinstance(outcome, bytes), (snapshot, outcome)


def walk(flow: Flow, target: str, answers: dict[tuple[str, int], Any]) -> tuple[list[Snapshot], list[FetchRequest]]:
    """Follow a flow's requests, answering each (step, page) from ``answers``; returns snapshots and requests."""
    snapshots: list[Snapshot] = []
    requests: list[FetchRequest] = []
    pending = list(flow.start(target))
    while pending:
        request = pending.pop(0)
        requests.append(request)
        parsed = flow.parse(target, request, answers[(request.step, request.page)])
        snapshots.extend(parsed.snapshots)
        pending.extend(parsed.follow)
    return snapshots, requests


# ---- Instagram -----------------------------------------------------------------------------------------


def test_instagram_profile_from_web_profile_info():
    flow = InstagramFlow("instagram.profile", base_url=BASE, max_pages=5)
    snapshots, requests = walk(flow, "@Asha.Wild", {("profile", 1): fixture("instagram_web_profile_info.json")})
    assert [r.url for r in requests] == [f"{BASE}/api/v1/users/web_profile_info/"]
    assert requests[0].params == {"username": "asha.wild"}
    assert requests[0].headers["x-ig-app-id"] == "936619743392459"
    [profile] = snapshots
    assert profile.type == "profile.snapshot"
    props = profile.properties
    assert props["platform"] == "instagram" and props["handle"] == "asha.wild"
    assert (props["followers"], props["following"], props["posts"]) == (48213, 611, 734)
    assert props["display_name"] == "Asha Menon" and props["category"] == "Photographer"
    assert props["verified"] is False and props["business"] is True and props["platform_id"] == "5723190044"
    # mean (likes + comments) / followers over the three recent posts in the answer
    expected = ((2100 + 64) + (3300 + 120) + (1500 + 16)) / 3 / 48213
    assert props["engagement_rate"] == pytest.approx(expected, rel=1e-4)
    assert_valid_events(snapshots)


def test_instagram_unknown_user_is_not_found():
    flow = InstagramFlow("instagram.profile", base_url=BASE, max_pages=5)
    [request] = flow.start("nobody.here")
    with pytest.raises(ParseError) as caught:
        flow.parse("nobody.here", request, {"data": {"user": None}, "status": "ok"})
    assert caught.value.reason == "not_found"


def test_instagram_posts_page_through_the_feed():
    flow = InstagramFlow("instagram.posts", base_url=BASE, max_pages=5, credentials={"sessionid": "s3cr3t"})
    answers = {
        ("profile", 1): fixture("instagram_web_profile_info.json"),
        ("feed", 1): fixture("instagram_feed_1.json"),
        ("feed", 2): fixture("instagram_feed_2.json"),
    }
    snapshots, requests = walk(flow, "asha.wild", answers)
    assert [r.step for r in requests] == ["profile", "feed", "feed"]
    assert requests[1].url == f"{BASE}/api/v1/feed/user/5723190044/"
    assert requests[2].params["max_id"] == "3301000000000000002_5723190044"
    assert requests[1].headers["cookie"] == "sessionid=s3cr3t"
    assert [s.properties["post_id"] for s in snapshots] == ["C8aaaaaaaa1", "C8aaaaaaaa2", "C8aaaaaaaa3"]
    first, reel, carousel = (s.properties for s in snapshots)
    assert first["likes"] == 2100 and first["comments"] == 64 and first["media_type"] == "photo"
    assert first["posted_at"] == "2025-11-24T16:00:00Z" and first["caption"].startswith("Hornbill at dawn")
    assert reel["views"] == 51200 and reel["media_type"] == "video" and "caption" not in reel
    assert carousel["media_type"] == "carousel"
    assert all(s.type == "post.snapshot" and s.properties["handle"] == "asha.wild" for s in snapshots)
    assert_valid_events(snapshots)


def test_instagram_posts_stop_at_max_pages():
    flow = InstagramFlow("instagram.posts", base_url=BASE, max_pages=1)
    answers = {
        ("profile", 1): fixture("instagram_web_profile_info.json"),
        ("feed", 1): fixture("instagram_feed_1.json"),
    }
    snapshots, requests = walk(flow, "asha.wild", answers)
    assert [r.step for r in requests] == ["profile", "feed"] and len(snapshots) == 2


def test_instagram_followers():
    flow = InstagramFlow("instagram.followers", base_url=BASE, max_pages=5)
    answers = {
        ("profile", 1): fixture("instagram_web_profile_info.json"),
        ("followers", 1): fixture("instagram_followers_1.json"),
        ("followers", 2): fixture("instagram_followers_2.json"),
    }
    snapshots, requests = walk(flow, "asha.wild", answers)
    assert requests[1].url == f"{BASE}/api/v1/friendships/5723190044/followers/"
    assert requests[2].params == {"count": "50", "max_id": "2"}
    by_handle = {s.properties["follower_handle"]: s.properties for s in snapshots}
    assert set(by_handle) == {"birder.ravi", "user8841203", "ghats.trekkers"}
    assert by_handle["user8841203"]["follower_has_picture"] is False
    assert by_handle["user8841203"]["follower_private"] is True and "follower_name" not in by_handle["user8841203"]
    assert by_handle["ghats.trekkers"]["follower_verified"] is True
    assert all(s.type == "follower.snapshot" and s.properties["handle"] == "asha.wild" for s in snapshots)
    assert_valid_events(snapshots)


@pytest.mark.parametrize("target", ["", "not a handle!", "x" * 31, "natgeo\n/"])
def test_instagram_rejects_malformed_handles(target: str):
    with pytest.raises(TargetFailed) as caught:
        InstagramFlow("instagram.profile", base_url=BASE, max_pages=1).start(target)
    assert caught.value.reason == "invalid_target"


def test_instagram_changed_shape_is_a_parse_error():
    flow = InstagramFlow("instagram.profile", base_url=BASE, max_pages=1)
    [request] = flow.start("asha.wild")
    with pytest.raises(ParseError, match="data is list"):
        flow.parse("asha.wild", request, {"data": []})


# ---- YouTube --------------------------------------------------------------------------------------------


def test_youtube_channel_is_a_profile_snapshot():
    flow = YouTubeFlow("youtube.channel", base_url=BASE, max_pages=5, api_key="AIzaTEST")
    snapshots, requests = walk(flow, "@kitchenlabindia", {("channel", 1): fixture("youtube_channels.json")})
    assert requests[0].url == f"{BASE}/channels"
    assert requests[0].params["forHandle"] == "@kitchenlabindia"
    assert requests[0].headers["x-goog-api-key"] == "AIzaTEST" and "key" not in requests[0].params
    [profile] = snapshots
    props = profile.properties
    assert profile.type == "profile.snapshot"
    assert props["platform"] == "youtube" and props["handle"] == "kitchenlabindia"
    assert props["channel_id"] == "UCa1b2c3d4e5f6g7h8i9j0kL"
    assert (props["followers"], props["posts"], props["views"]) == (1_210_000, 642, 98_123_456)
    assert props["country"] == "IN" and props["display_name"] == "Kitchen Lab India"
    assert_valid_events(snapshots)


def test_youtube_channel_ids_and_hidden_subscribers():
    flow = YouTubeFlow("youtube.channel", base_url=BASE, max_pages=5, api_key="k")
    [request] = flow.start("UCa1b2c3d4e5f6g7h8i9j0kL")
    assert request.params["id"] == "UCa1b2c3d4e5f6g7h8i9j0kL"
    answer = fixture("youtube_channels.json")
    answer["items"][0]["statistics"]["hiddenSubscriberCount"] = True
    [profile] = flow.parse("UCa1b2c3d4e5f6g7h8i9j0kL", request, answer).snapshots
    assert "followers" not in profile.properties  # hidden is unknown, not zero
    with pytest.raises(ParseError) as caught:
        flow.parse("x", request, {"kind": "youtube#channelListResponse", "pageInfo": {"totalResults": 0}})
    assert caught.value.reason == "not_found"


def test_youtube_videos_walk_uploads_pages_then_videos():
    flow = YouTubeFlow("youtube.videos", base_url=BASE, max_pages=5, api_key="k")
    answers = {
        ("channel", 1): fixture("youtube_channels.json"),
        ("uploads", 1): fixture("youtube_playlist_items_1.json"),
        ("videos", 1): fixture("youtube_videos_1.json"),
        ("uploads", 2): fixture("youtube_playlist_items_2.json"),
        ("videos", 2): fixture("youtube_videos_2.json"),
    }
    snapshots, requests = walk(flow, "kitchenlabindia", answers)
    assert [(r.step, r.page) for r in requests] == [
        ("channel", 1), ("uploads", 1), ("videos", 1), ("uploads", 2), ("videos", 2)
    ]  # fmt: skip
    assert requests[1].params["playlistId"] == "UUa1b2c3d4e5f6g7h8i9j0kL"
    assert requests[2].params["id"] == "vidAAAAAAA1,vidAAAAAAA2"
    assert requests[3].params["pageToken"] == "EAAaBlBUOkNBVQ"
    videos = {s.properties["post_id"]: s.properties for s in snapshots}
    assert list(videos) == ["vidAAAAAAA1", "vidAAAAAAA2", "vidAAAAAAA3"]
    assert (videos["vidAAAAAAA1"]["views"], videos["vidAAAAAAA1"]["likes"], videos["vidAAAAAAA1"]["comments"]) == (
        412_003, 18_700, 932
    )  # fmt: skip
    assert "likes" not in videos["vidAAAAAAA2"]  # likes hidden by the creator: absent, not 0
    assert videos["vidAAAAAAA3"]["duration"] == "PT6M48S"
    assert all(s.properties["handle"] == "kitchenlabindia" and s.type == "post.snapshot" for s in snapshots)
    assert_valid_events(snapshots)


def test_youtube_videos_respect_max_pages():
    flow = YouTubeFlow("youtube.videos", base_url=BASE, max_pages=1, api_key="k")
    answers = {
        ("channel", 1): fixture("youtube_channels.json"),
        ("uploads", 1): fixture("youtube_playlist_items_1.json"),
        ("videos", 1): fixture("youtube_videos_1.json"),
    }
    snapshots, requests = walk(flow, "kitchenlabindia", answers)
    assert [r.step for r in requests] == ["channel", "uploads", "videos"] and len(snapshots) == 2


# ---- Shopify --------------------------------------------------------------------------------------------


def test_shopify_products_pages_until_a_short_one():
    flow = ShopifyFlow(url_template=BASE + "/{target}/products.json", max_pages=5, page_size=2)
    answers = {("products", 1): fixture("shopify_products_1.json"), ("products", 2): fixture("shopify_products_2.json")}
    snapshots, requests = walk(flow, "https://Loom-and-Leaf.example/", answers)
    assert [r.url for r in requests] == [f"{BASE}/loom-and-leaf.example/products.json"] * 2
    assert [r.params["page"] for r in requests] == ["1", "2"]
    products = {s.properties["product_id"]: s.properties for s in snapshots}
    kurta = products["7351000000001"]
    assert kurta["price"] == 2499.0 and kurta["compare_at_price"] == 2999.0
    assert kurta["available"] is True and kurta["variants"] == 2 and kurta["category"] == "Kurta"
    assert kurta["handle"] == "loom-and-leaf.example" and kurta["tags"] == ["indigo", "linen", "summer"]
    assert kurta["url"] == "https://loom-and-leaf.example/products/linen-kurta-indigo"
    dupatta = products["7351000000002"]
    assert dupatta["tags"] == ["cotton", "block print"] and "category" not in dupatta and "image_url" not in dupatta
    assert products["7351000000003"]["title"] == "Kantha Throw"
    assert all(s.type == "product.snapshot" and s.properties["platform"] == "shopify" for s in snapshots)
    assert_valid_events(snapshots)


def test_shopify_rejects_non_domains():
    with pytest.raises(TargetFailed):
        ShopifyFlow(url_template=BASE + "/{target}", max_pages=1).start("not a domain")


# ---- http.json ------------------------------------------------------------------------------------------

CREATORS_API = {
    "data": {
        "page": 1,
        "creators": [
            {"user": {"name": "mira.codes", "id": 77}, "stats": {"followers": 1200, "posts": 88}, "tags": ["a", "b"]},
            {"user": {"name": "leo.lifts", "id": 78}, "stats": {"followers": 560}, "tags": []},
            {"user": {"id": 79}, "stats": {"followers": 5}},  # no handle: skipped
        ],
    }
}


def http_flow(**config: Any) -> HttpJsonFlow:
    return HttpJsonFlow(parse_config({"urlTemplate": BASE + "/api/{target}", **config}))


def test_http_json_maps_items_to_profile_snapshots():
    flow = http_flow(
        itemsPath="$.data.creators[*]",
        fields={"handle": "user.name", "followers": "stats.followers", "posts": "stats.posts", "tags": "tags[*]",
                "source_id": "user.id", "category": "{target}"},
        platform="instagram",
    )  # fmt: skip
    [request] = flow.start("tech & gaming")
    assert request.url == f"{BASE}/api/tech%20%26%20gaming"
    snapshots = list(flow.parse("tech & gaming", request, CREATORS_API).snapshots)
    assert [s.properties["handle"] for s in snapshots] == ["mira.codes", "leo.lifts"]
    mira = snapshots[0].properties
    assert mira == {
        "platform": "instagram", "handle": "mira.codes", "followers": 1200, "posts": 88, "tags": ["a", "b"],
        "source_id": 77, "category": "tech & gaming",
    }  # fmt: skip
    assert "posts" not in snapshots[1].properties
    assert all(s.type == "profile.snapshot" for s in snapshots)
    assert_valid_events(snapshots)


def test_http_json_infers_the_type_and_stringifies_keys():
    flow = http_flow(itemsPath="products", fields={"product_id": "sku", "title": "name", "price": "price"})
    assert flow.event_type == "product.snapshot"
    [request] = flow.start("shop1")
    snapshots = flow.parse("shop1", request, {"products": [{"sku": 1001, "name": "Mug", "price": 9.5}]}).snapshots
    assert snapshots[0].properties == {"platform": "web", "product_id": "1001", "title": "Mug", "price": 9.5}
    assert_valid_events(snapshots)


def test_http_json_whole_answer_and_post_requests():
    flow = http_flow(method="POST", fields={"post_id": "id", "likes": "likes"}, eventType="post.snapshot")
    [request] = flow.start("p1")
    assert request.method == "POST" and request.json == {"target": "p1"}
    [snapshot] = flow.parse("p1", request, {"id": "p1", "likes": 3}).snapshots
    assert snapshot.type == "post.snapshot" and snapshot.properties["likes"] == 3


def test_http_json_items_path_that_matches_nothing_is_a_parse_error():
    flow = http_flow(itemsPath="data.items[*]", fields={"handle": "h"})
    [request] = flow.start("x")
    with pytest.raises(ParseError, match="matched nothing"):
        flow.parse("x", request, {"data": {"creators": []}})
    assert flow.parse("x", request, {"data": {"items": []}}).snapshots == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"urlTemplate": "https://x.example/api", "fields": {"handle": "h"}}, "urlTemplate must contain {target}"),
        ({"urlTemplate": "ftp://x/{target}", "fields": {"handle": "h"}}, "urlTemplate"),
        ({"urlTemplate": "https://x/{target}", "fields": {"name": "n"}}, "fields must map handle"),
        ({"urlTemplate": "https://x/{target}", "fields": {"handle": "a[?(@.x)]"}}, "unexpected"),
        ({"urlTemplate": "https://x/{target}", "fields": {"x": "y"}, "eventType": "follower.snapshot"},
         "needs fields for handle, follower_handle"),
        ({"urlTemplate": "https://x/{target}", "method": "PUT", "fields": {"handle": "h"}}, "method"),
    ],
)  # fmt: skip
def test_http_json_configuration_errors_are_one_line(config: dict[str, Any], message: str):
    with pytest.raises(ConfigError) as caught:
        HttpJsonFlow(parse_config(config))
    text = str(caught.value)
    assert text.startswith("BARISTA_HTTP_JSON is invalid") and message in text and "\n" not in text


# ---- the JSONPath subset --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", [{"a": {"b": [1, 2, {"c": 3}], "d e": 4}}]),
        ("a.b", [[1, 2, {"c": 3}]]),
        ("$.a.b[0]", [1]),
        ("a.b[-1].c", [3]),
        ("a.b[*]", [1, 2, {"c": 3}]),
        ("a.*", [[1, 2, {"c": 3}], 4]),
        ("$['a']['d e']", [4]),
        ('a["d e"]', [4]),
        ("a.b[5]", []),
        ("a.missing.x", []),
    ],
)
def test_jsonpath_subset(path: str, expected: list[Any]):
    document = {"a": {"b": [1, 2, {"c": 3}], "d e": 4}}
    assert compile_path(path).find(document) == expected


@pytest.mark.parametrize("path", ["a..b", "a[1:2]", "a[?(@.x)]", "a.", "a['x]"])
def test_jsonpath_rejects_what_it_does_not_support(path: str):
    with pytest.raises(ValueError, match="JSONPath"):
        compile_path(path)
