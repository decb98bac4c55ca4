"""Protobuf ⇄ domain conversion (the hand-written fast paths against the protobuf library) and process tuning."""

from __future__ import annotations

import gc
import math

from hypothesis import given
from hypothesis import strategies as st

from barista_core.events import BatchResult, EventStatus, EventStatusCode, UniformStatuses, wire
from barista_core.proto import events_pb2
from barista_core.tuning import tune_process
from barista_ingest.convert import (
    _statuses_bytes,
    event_from_proto,
    events_from_proto,
    result_to_bytes,
    result_to_proto,
)

statuses = st.builds(
    EventStatus,
    id=st.text(max_size=300),
    code=st.sampled_from(list(EventStatusCode)),
    reason=st.text(max_size=300),
    field=st.text(max_size=50),
)


@given(
    items=st.lists(statuses, max_size=30),
    accepted=st.integers(0, 2**31 - 1),
    rejected=st.integers(0, 2**31 - 1),
    retry=st.integers(0, 2**31 - 1),
    batch_id=st.text(max_size=200),
)
def test_encoded_response_equals_what_protobuf_would_send(
    items: list[EventStatus], accepted: int, rejected: int, retry: int, batch_id: str
) -> None:
    result = BatchResult(statuses=items, accepted=accepted, rejected=rejected, retry_after_ms=retry)
    ours = events_pb2.PublishResponse.FromString(result_to_bytes(result, batch_id))
    assert ours == result_to_proto(result, batch_id)
    assert result_to_bytes(result, batch_id) == result_to_proto(result, batch_id).SerializeToString()
    # the statuses through the compiled encoder (what result_to_bytes uses) and through the Python fallback
    assert wire.encode_statuses is not None
    assert wire.encode_statuses(items) == b"".join(_statuses_bytes(items))


@given(
    ids=st.lists(st.text(max_size=300), max_size=30),
    code=st.sampled_from(list(EventStatusCode)),
    reason=st.text(max_size=300),
    accepted=st.integers(0, 2**31 - 1),
)
def test_one_outcome_for_every_event_is_encoded_as_the_statuses_one_by_one(
    ids: list[str], code: EventStatusCode, reason: str, accepted: int
) -> None:
    uniform = UniformStatuses(ids, code, reason)
    one_by_one = [EventStatus(id, code, reason) for id in ids]
    assert uniform == one_by_one and list(uniform) == one_by_one and len(uniform) == len(ids)
    assert uniform[1:3] == one_by_one[1:3]
    as_list, lazily = (
        BatchResult(statuses=one_by_one, accepted=accepted),
        BatchResult(statuses=uniform, accepted=accepted),
    )
    assert lazily.to_json("b") == as_list.to_json("b")
    assert (
        result_to_bytes(lazily, "b")
        == result_to_bytes(as_list, "b")
        == result_to_proto(as_list, "b").SerializeToString()
    )
    assert wire.encode_uniform_statuses is not None
    assert wire.encode_uniform_statuses(ids, code, reason) == b"".join(_statuses_bytes(one_by_one))


def test_struct_values_become_json_values() -> None:
    event = events_pb2.Event(id="i", type="custom.x")
    event.properties.update({
        "n": 3, "f": 2.5, "big": 2.0**60, "nan": math.nan, "s": "x", "b": False, "null": None,
        "nested": {"list": [1, "two", {"three": 3.0}]},
    })  # fmt: skip
    converted = event_from_proto(event).properties
    assert converted is not None
    assert converted["n"] == 3 and type(converted["n"]) is int
    assert converted["f"] == 2.5 and converted["big"] == 2.0**60 and type(converted["big"]) is float
    assert math.isnan(converted["nan"])
    assert (converted["s"], converted["b"], converted["null"]) == ("x", False, None)
    assert converted["nested"] == {"list": [1, "two", {"three": 3}]}


def test_equal_contexts_in_a_batch_share_one_dict() -> None:
    batch = events_pb2.EventBatch()
    for i in range(3):
        e = batch.events.add(id=str(i), type="page.viewed")
        e.context.platform = "ios"
        e.context.extra["k"] = "v"
    batch.events[2].context.platform = "web"
    inputs = events_from_proto(batch.events)
    assert inputs[0].context is inputs[1].context
    assert inputs[0].context == {"platform": "ios", "extra": {"k": "v"}}
    assert inputs[2].context == {"platform": "web", "extra": {"k": "v"}}
    assert events_from_proto([events_pb2.Event(id="x")])[0].context is None


@st.composite
def proto_events(draw: st.DrawFn) -> events_pb2.Event:
    event = events_pb2.Event(id=draw(st.text(max_size=5)), type=draw(st.sampled_from(["page.viewed", "custom.x"])))
    if draw(st.booleans()):
        event.occurred_at.seconds = draw(st.integers(-62_135_596_800, 253_402_300_799))
        event.occurred_at.nanos = draw(st.integers(0, 999_999_999))
    properties = draw(st.sampled_from(["unset", "empty", "set"]))
    if properties == "empty":
        event.properties.SetInParent()
    elif properties == "set":
        event.properties.update(draw(st.dictionaries(st.text(max_size=4), st.integers(-5, 5) | st.text(max_size=4))))
    event.properties_json = draw(st.sampled_from([b"", b'{"a": 1}']))
    context = draw(st.sampled_from(["unset", "empty", "ios", "web"]))
    if context == "empty":
        event.context.SetInParent()
    elif context != "unset":
        event.context.platform = context
        event.context.extra["k"] = "v"
    return event


@given(st.lists(proto_events(), max_size=8))
def test_a_batch_converts_as_its_events_one_by_one(events: list[events_pb2.Event]) -> None:
    batch = events_pb2.EventBatch(events=events)
    converted = events_from_proto(batch.events)
    assert converted == [event_from_proto(e) for e in batch.events]
    assert all(c.context is None for e, c in zip(batch.events, converted, strict=True) if not e.context.ListFields())


def test_process_tuning_raises_the_collector_thresholds() -> None:
    before = gc.get_threshold()
    try:
        tune_process()
        assert gc.get_threshold()[0] >= 10_000
    finally:
        gc.set_threshold(*before)
