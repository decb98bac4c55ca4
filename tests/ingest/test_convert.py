"""Protobuf ⇄ domain conversion (the hand-written fast paths against the protobuf library) and process tuning."""

from __future__ import annotations

import gc
import math

from hypothesis import given
from hypothesis import strategies as st

from barista_core.events import BatchResult, EventStatus, EventStatusCode
from barista_core.proto import events_pb2
from barista_ingest.convert import event_from_proto, events_from_proto, result_to_bytes, result_to_proto
from barista_ingest.tuning import tune_process

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


def test_process_tuning_raises_the_collector_thresholds() -> None:
    before = gc.get_threshold()
    try:
        tune_process()
        assert gc.get_threshold()[0] >= 10_000
    finally:
        gc.set_threshold(*before)
