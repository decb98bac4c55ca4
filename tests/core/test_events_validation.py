"""The event catalogue, per-event validation, the wire codec and JSON request conversion."""

from __future__ import annotations

import gzip
import time
import uuid

import orjson
import pytest

from barista_core.broker import Message
from barista_core.events import (
    CATALOGUE,
    EventInput,
    EventLimits,
    EventValidator,
    Rejection,
    UndecodableMessage,
    categories,
    decode_events,
    event_from_json,
    events_from_json,
    format_ms,
    message_body,
    message_events,
    normalise_id,
    parse_timestamp_ms,
)
from barista_core.events.catalogue import TYPE_PATTERN
from barista_core.events.codec import CONTENT_ENCODING, compress_body

NOW = 1_764_324_000_000  # 2025-11-28T10:00:00Z
OPERATOR_EVENT_PATTERN = r"^(\*|#|[a-z0-9_-]+)(\.(\*|#|[a-z0-9_-]+))*$"


def make(type: str = "page.viewed", **changes: object) -> EventInput:
    base: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "type": type,
        "occurred_at_ms": NOW - 1000,
        "properties": {"path": "/"},
    }
    base.update(changes)
    return EventInput(**base)  # type: ignore[arg-type]


def check(event: EventInput, limits: EventLimits | None = None, seen: set[str] | None = None) -> Rejection | dict:
    outcome = EventValidator(limits).check(
        event, now_ms=NOW, received_at=format_ms(NOW), seen=set() if seen is None else seen
    )
    return outcome if isinstance(outcome, Rejection) else orjson.loads(outcome)


def code(outcome: Rejection | dict) -> tuple[str, str]:
    assert isinstance(outcome, Rejection), outcome
    return outcome.reason.split(":", 1)[0], outcome.field


# ---- the catalogue -----------------------------------------------------------------------------------


def test_catalogue_has_at_least_65_well_formed_types_across_the_areas_the_issue_names() -> None:
    assert len(CATALOGUE) >= 65
    assert all(TYPE_PATTERN.match(name) for name in CATALOGUE)
    import re

    # every name must be bindable word by word by a Sink's eventTypes pattern (the operator's CRD rule)
    assert all(re.match(OPERATOR_EVENT_PATTERN, name) for name in CATALOGUE)
    names = set(CATALOGUE)
    for wanted in ("app.opened", "page.viewed", "screen.viewed", "search.performed", "product.viewed",
                   "cart.item_added", "checkout.started", "order.completed", "refund.completed",
                   "subscription.started", "content.shared", "creator.followed", "user.logged_in",
                   "user.signed_up", "push.opened", "email.opened", "profile.snapshot", "post.snapshot",
                   "product.snapshot", "follower.snapshot"):  # fmt: skip
        assert wanted in names, wanted
    assert {"app", "commerce", "snapshot", "messaging", "account"} <= set(categories())
    assert CATALOGUE["order.completed"].required == {"order_id": "string", "total": "number", "currency": "string"}


# ---- ids, types, timestamps -----------------------------------------------------------------------------


def test_ids_are_uuids_or_ulids_in_one_canonical_spelling() -> None:
    upper = str(uuid.uuid4()).upper()
    assert normalise_id(upper) == upper.lower()
    assert normalise_id("01arz3ndektsv4rrffq69g5fav") == "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    for bad in (
        "",
        "x" * 36,
        "01ARZ3NDEKTSV4RRFFQ69G5FA",
        "81ARZ3NDEKTSV4RRFFQ69G5FAV",
        "01ARZ3NDEKTSV4RRFFQ69G5FAU"[:-1] + "I",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV\n",  # "$" would let a trailing newline through
        str(uuid.uuid4()) + "\n",
    ):
        assert normalise_id(bad) is None, bad
    assert code(check(make(id=""))) == ("missing_id", "id")
    assert code(check(make(id="abc"))) == ("invalid_id", "id")
    accepted = check(make(id=upper))
    assert isinstance(accepted, dict) and accepted["id"] == upper.lower()


def test_duplicate_ids_in_a_batch_are_rejected_after_the_first() -> None:
    validator = EventValidator()
    seen: set[str] = set()
    event = make()
    first = validator.check(event, now_ms=NOW, received_at="", seen=seen)
    again = validator.check(make(id=event.id.upper()), now_ms=NOW, received_at="", seen=seen)
    assert isinstance(first, bytes)
    assert code(again) == ("duplicate_id", "id")


@pytest.mark.parametrize(
    ("type", "expected"),
    [
        ("", "missing_type"),
        ("Page.Viewed", "invalid_type"),
        ("page", "invalid_type"),
        ("custom.#", "invalid_type"),
        ("custom." + "a" * 100, "invalid_type"),
        ("custom.x\n", "invalid_type"),  # would end up in the routing key
        ("rocket.launched", "unknown_type"),
    ],
)
def test_types_must_be_catalogued_or_custom(type: str, expected: str) -> None:
    assert code(check(make(type, properties={}))) == (expected, "type")


def test_custom_types_need_no_properties() -> None:
    assert isinstance(check(make("custom.level_completed", properties=None)), dict)


def test_timestamp_window_edges() -> None:
    limits = EventLimits(max_age_ms=86_400_000, max_future_skew_ms=60_000)
    assert isinstance(check(make(occurred_at_ms=NOW - 86_400_000), limits), dict)
    assert code(check(make(occurred_at_ms=NOW - 86_400_001), limits)) == ("timestamp_too_old", "occurred_at")
    assert isinstance(check(make(occurred_at_ms=NOW + 60_000), limits), dict)
    assert code(check(make(occurred_at_ms=NOW + 60_001), limits)) == ("timestamp_in_future", "occurred_at")
    assert code(check(make(occurred_at_ms=None))) == ("missing_timestamp", "occurred_at")


def test_identifiers_have_a_length_limit() -> None:
    assert code(check(make(user_id="u" * 257))) == ("invalid_field", "user_id")
    assert code(check(make(session_id=7))) == ("invalid_field", "session_id")
    assert isinstance(check(make(device_id="d" * 256)), dict)


# ---- properties and context -------------------------------------------------------------------------------


def test_required_properties_are_checked_by_kind() -> None:
    ok = {"order_id": "o-1", "total": 10, "currency": "INR"}
    assert isinstance(check(make("order.completed", properties=ok)), dict)
    assert code(check(make("order.completed", properties={**ok, "total": None}))) == (
        "missing_property", "properties.total")  # fmt: skip
    assert code(check(make("order.completed", properties={**ok, "total": True}))) == (
        "invalid_property", "properties.total")  # fmt: skip
    assert code(check(make("order.completed", properties={**ok, "order_id": ""}))) == (
        "invalid_property", "properties.order_id")  # fmt: skip
    assert code(check(make("order.completed", properties=None))) == ("missing_property", "properties.order_id")
    assert isinstance(check(make("cart.item_added", properties={"product_id": "p", "quantity": 2.0})), dict)
    assert code(check(make("cart.item_added", properties={"product_id": "p", "quantity": 2.5}))) == (
        "invalid_property", "properties.quantity")  # fmt: skip


def test_property_size_and_depth_limits() -> None:
    limits = EventLimits(max_properties_bytes=100, max_properties_depth=3)
    assert code(check(make(properties={"path": "x" * 100}), limits)) == ("properties_too_large", "properties")
    assert isinstance(check(make(properties={"path": "/", "a": {"b": {"c": 1}}}), limits), dict)  # depth 3
    assert code(check(make(properties={"path": "/", "a": {"b": {"c": [1]}}}), limits)) == (
        "properties_too_deep", "properties")  # fmt: skip


@pytest.mark.parametrize(
    ("properties_json", "depth", "accepted"),
    [
        (b'{"path": "/"}', 1, True),
        (b'{"path": "{[{["}', 1, True),  # brackets inside strings are not nesting
        (b' {"path": "/"}', 1, True),  # JSON text as sent, leading space and all
        (b'{"path": "/", "a": {}}', 1, False),
        (b'{"path": "/", "a": []}', 1, False),
        (b'{"path": "/", "a": {"b": "[{"}}', 2, True),
        (b'{"path": "/", "a": [[1]]}', 2, False),
        (b'{"path": "/"}', 0, False),  # a limit of 0 refuses every non-empty object
    ],
)
def test_the_depth_limit_counts_nesting_not_brackets(properties_json: bytes, depth: int, accepted: bool) -> None:
    limits = EventLimits(max_properties_depth=depth)
    for event in (
        make(properties=None, properties_json=properties_json),
        make(properties=orjson.loads(properties_json)),
    ):
        outcome = check(event, limits)
        if accepted:
            assert isinstance(outcome, dict), outcome
        else:
            assert code(outcome) == ("properties_too_deep", "properties")


def test_check_all_is_check_event_by_event_within_one_batch() -> None:
    shared = {"platform": "ios"}
    first = make(context=shared)
    events = [
        first,
        make(id=first.id.upper(), context=shared),  # a duplicate of the first, spelled differently
        make(id="nope"),
        make("order.completed", properties={"order_id": "o"}),
        make(properties=None, properties_json=b'{"path": "/p", "n": [1, {"m": 2}]}', context={"app_name": "a"}),
        make(occurred_at_ms=None),
        make(context={"platform": 7}),
    ]
    one_by_one = EventValidator()
    seen: set[str] = set()
    expected = [one_by_one.check(e, now_ms=NOW, received_at=format_ms(NOW), seen=seen) for e in events]
    validator = EventValidator()
    assert validator.check_all(events, now_ms=NOW, received_at=format_ms(NOW)) == expected
    assert isinstance(expected[0], bytes) and code(expected[1]) == ("duplicate_id", "id")  # type: ignore[arg-type]
    shared["platform"] = 7  # the next batch sees the change: memos are per batch
    assert code(validator.check_all([make(context=shared)], now_ms=NOW, received_at="")[0]) == (  # type: ignore[arg-type]
        "invalid_context", "context.platform")  # fmt: skip


def test_limits_can_be_replaced_after_construction() -> None:
    validator = EventValidator()
    validator.limits = EventLimits(max_identifier_length=3)
    outcome = validator.check(make(user_id="user"), now_ms=NOW, received_at="", seen=set())
    assert code(outcome) == ("invalid_field", "user_id")  # type: ignore[arg-type]


def test_properties_as_json_text() -> None:
    accepted = check(make(properties=None, properties_json=b'{"path": "/p", "n": 1}'))
    assert isinstance(accepted, dict) and accepted["properties"] == {"path": "/p", "n": 1}
    assert code(check(make(properties=None, properties_json=b"[1]"))) == ("invalid_properties", "properties_json")
    assert code(check(make(properties=None, properties_json=b"{nope"))) == ("invalid_properties", "properties_json")
    assert code(check(make(properties_json=b'{"path": "/"}'))) == ("invalid_properties", "properties_json")
    assert code(check(make(properties=None, properties_json=b'{"other": 1}'))) == (
        "missing_property", "properties.path")  # fmt: skip
    big = orjson.dumps({"path": "x" * 40_000})
    assert code(check(make(properties=None, properties_json=big))) == ("properties_too_large", "properties_json")


def test_unencodable_properties_are_rejected_not_raised() -> None:
    assert code(check(make(properties={"path": "/", "n": 2**70}))) == ("invalid_properties", "properties")
    assert code(check(make(properties={"path": "/", 1: "x"}))) == ("invalid_properties", "properties")


def test_context_fields_are_strings_with_known_names() -> None:
    ok = check(make(context={"platform": "ios", "extra": {"ab": "b"}}))
    assert isinstance(ok, dict) and ok["context"] == {"platform": "ios", "extra": {"ab": "b"}}
    assert code(check(make(context={"planet": "mars"}))) == ("invalid_context", "context.planet")
    assert code(check(make(context={"platform": 3}))) == ("invalid_context", "context.platform")
    assert code(check(make(context={"extra": {"a": 1}}))) == ("invalid_context", "context.extra")
    assert code(check(make(context={"ip": "1" * 3000}))) == ("invalid_context", "context.ip")


def test_a_shared_context_dict_is_checked_once_per_batch_and_forgotten_after() -> None:
    validator = EventValidator()
    shared = {"platform": "ios"}
    seen: set[str] = set()
    outs = [validator.check(make(context=shared), now_ms=NOW, received_at="", seen=seen) for _ in range(3)]
    assert all(orjson.loads(o)["context"] == {"platform": "ios"} for o in outs)  # type: ignore[arg-type]
    shared["platform"] = 7  # changed between batches
    validator.begin_batch()
    assert code(validator.check(make(context=shared), now_ms=NOW, received_at="", seen=seen)) == (
        "invalid_context", "context.platform")  # fmt: skip


def test_the_canonical_event_json() -> None:
    event = make("order.completed", properties={"order_id": "o", "total": 5, "currency": "EUR"},
                 user_id="u", occurred_at_ms=NOW + 123)  # fmt: skip
    encoded = check(event)
    assert encoded == {
        "id": event.id, "type": "order.completed", "occurred_at": "2025-11-28T10:00:00.123Z",
        "received_at": "2025-11-28T10:00:00.000Z", "user_id": "u", "session_id": "", "device_id": "",
        "properties": {"order_id": "o", "total": 5, "currency": "EUR"}, "context": {},
    }  # fmt: skip


# ---- timestamps, wire format, JSON bodies -------------------------------------------------------------------


def test_timestamps_round_trip_and_offsets() -> None:
    for ms in (0, NOW, NOW + 999, int(time.time() * 1000)):
        assert parse_timestamp_ms(format_ms(ms)) == ms
    assert format_ms(NOW + 7) == "2025-11-28T10:00:00.007Z"
    assert format_ms(-1) == "1969-12-31T23:59:59.999Z"
    assert format_ms(-1000) == "1969-12-31T23:59:59.000Z"
    assert parse_timestamp_ms("2025-11-28T15:30:00+05:30") == NOW
    assert parse_timestamp_ms("2025-11-28T10:00:00.1Z") == NOW + 100
    assert parse_timestamp_ms("2025-11-28t10:00:00.123456789z") == NOW + 123
    for bad in ("2025-11-28", "2025-13-28T10:00:00Z", "yesterday", "2025-11-28T10:00:00", "2025-11-28T10:00:00Z\n"):
        with pytest.raises(ValueError, match="not a valid date/time|not an RFC 3339 timestamp"):
            parse_timestamp_ms(bad)


def test_decode_events_refuses_what_is_not_a_batch() -> None:
    assert decode_events(b'[{"id": "a"}]') == [{"id": "a"}]
    for body in (b"nope", b'{"id": "a"}', b"[1, 2]"):
        with pytest.raises(UndecodableMessage):
            decode_events(body)


def test_broker_bodies_are_zstd_and_anything_else_is_poison() -> None:
    events = [{"id": f"e{i}", "type": "page.viewed", "properties": {"path": "/" * i}} for i in range(200)]
    body = orjson.dumps(events)
    compressed = compress_body(body)
    assert len(compressed) < len(body) / 5
    assert message_events(Message(compressed, content_encoding=CONTENT_ENCODING)) == events
    assert message_events(Message(body)) == events  # no content encoding: taken as it is
    poison = {
        "content encoding 'gzip'": Message(gzip.compress(body), content_encoding="gzip"),
        "body is not zstd": Message(body, content_encoding="zstd"),
        "not one zstd frame": Message(compressed + compressed, content_encoding="zstd"),  # two frames
        "at most 64 MiB": Message(compress_body(b" " * (65 << 20)), content_encoding="zstd"),  # a bomb
    }
    for why, message in poison.items():
        with pytest.raises(UndecodableMessage, match=why):
            message_body(message)


def test_json_bodies_convert_with_snake_or_camel_case_and_never_raise_per_event() -> None:
    good, camel, bad_props, bad_time, not_object = events_from_json([
        {"id": "i1", "type": "page.viewed", "occurred_at": "2025-11-28T10:00:00Z", "properties": {"path": "/"},
         "user_id": "u", "context": {"app_name": "a"}},
        {"id": "i2", "type": "page.viewed", "occurredAt": "2025-11-28T10:00:00.5Z", "userId": "u2",
         "context": {"appVersion": "1"}},
        {"id": "i3", "type": "page.viewed", "properties": "path=/"},
        {"id": "i4", "type": "page.viewed", "occurred_at": 1764324000},
        "event",
    ])  # fmt: skip
    assert (good.occurred_at_ms, good.user_id, good.context, good.invalid) == (NOW, "u", {"app_name": "a"}, None)
    assert (camel.occurred_at_ms, camel.user_id, camel.context) == (NOW + 500, "u2", {"app_version": "1"})
    assert bad_props.invalid == ("invalid_properties: properties must be a JSON object", "properties")
    assert bad_time.invalid is not None and bad_time.invalid[1] == "occurred_at"
    assert not_object.invalid is not None
    assert code(check(bad_props)) == ("invalid_properties", "properties")
    assert event_from_json({"id": 5}).invalid == ("invalid_id: id must be a string", "id")
    with pytest.raises(ValueError, match="events must be a JSON array"):
        events_from_json({"events": []})
