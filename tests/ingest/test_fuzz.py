"""Property-based fuzzing of requests: whatever a client sends, the server answers (one status per event,
or a clean refusal of the whole batch) and keeps serving."""

from __future__ import annotations

import json
import time
import uuid

import grpc
import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barista_core.events import CATALOGUE
from barista_core.proto import events_pb2
from tests.ingest.conftest import Tenant, World, event

pytestmark = [pytest.mark.services, pytest.mark.asyncio(loop_scope="module")]

ALLOWED_REFUSALS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}
NOW = int(time.time())

json_scalars = (
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers(-(2**70), 2**70) | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=30,
)
struct_scalars = st.none() | st.booleans() | st.floats(allow_nan=True) | st.text(max_size=40)
struct_values = st.recursive(
    struct_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=30,
)
ids = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper()),
    st.just("01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    st.text(max_size=40),
    st.just(""),
)
types = st.one_of(
    st.sampled_from(sorted(CATALOGUE)),
    st.from_regex(r"custom\.[a-z0-9_-]{1,20}", fullmatch=True),
    st.text(max_size=30),
    st.just("custom.#"),
    st.just("a" * 200),
)
seconds = st.one_of(
    st.integers(NOW - 40 * 86_400, NOW + 3_600), st.integers(-62_135_596_800, 253_402_300_799), st.just(NOW)
)


@st.composite
def fuzz_events(draw: st.DrawFn) -> events_pb2.Event:
    e = events_pb2.Event(
        id=draw(ids),
        type=draw(types),
        user_id=draw(st.text(max_size=300)),
        session_id=draw(st.text(max_size=20)),
        device_id=draw(st.text(max_size=20)),
    )
    if draw(st.booleans()):
        e.occurred_at.seconds = draw(seconds)
        e.occurred_at.nanos = draw(st.integers(0, 999_999_999))
    how = draw(st.sampled_from(["none", "struct", "json", "raw", "both"]))
    if how in ("struct", "both"):
        e.properties.update(draw(st.dictionaries(st.text(max_size=12), struct_values, max_size=6)))
    if how in ("json", "both"):
        e.properties_json = json.dumps(draw(json_values)).encode() if draw(st.booleans()) else b'{"path": "/x"}'
    if how == "raw":
        e.properties_json = draw(st.binary(max_size=60))
    if draw(st.booleans()):
        e.context.platform = draw(st.text(max_size=10))
        e.context.ip = draw(st.text(max_size=3000))
        e.context.extra.update(draw(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)))
    return e


_tenant: dict[str, Tenant] = {}


async def _fuzz_tenant(world: World) -> Tenant:
    if "t" not in _tenant:
        _tenant["t"] = await world.tenant()
    return _tenant["t"]


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(fuzz_events(), max_size=25), batch_id=st.text(max_size=20))
async def test_any_batch_gets_an_answer_per_event_or_a_clean_refusal(
    world: World, batch: list[events_pb2.Event], batch_id: str
) -> None:
    tenant = await _fuzz_tenant(world)
    refusal: grpc.aio.AioRpcError | None = None
    try:
        response = await world.stub.Publish(
            events_pb2.EventBatch(events=batch, batch_id=batch_id), metadata=tenant.metadata, timeout=10
        )
    except grpc.aio.AioRpcError as error:
        refusal = error
    if refusal is not None:
        assert refusal.code() in ALLOWED_REFUSALS, (refusal.code(), refusal.details())
        return
    assert len(response.statuses) == len(batch)
    assert response.batch_id == batch_id
    for e, status in zip(batch, response.statuses, strict=True):
        assert status.id == e.id
        assert status.code in (events_pb2.EventStatus.ACCEPTED, events_pb2.EventStatus.REJECTED)
        if status.code == events_pb2.EventStatus.REJECTED:
            assert status.reason and ":" in status.reason
    assert response.accepted + response.rejected == len(batch)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(payload=st.binary(max_size=2000))
async def test_undecodable_request_bytes_are_refused_cleanly(world: World, payload: bytes) -> None:
    tenant = await _fuzz_tenant(world)
    raw = world.channel.unary_unary(
        "/barista.events.v1.EventService/Publish", request_serializer=None, response_deserializer=None
    )
    refusal: grpc.aio.AioRpcError | None = None
    try:
        answer = await raw(payload, metadata=tenant.metadata, timeout=10)
    except grpc.aio.AioRpcError as error:
        refusal = error
    if refusal is not None:
        assert refusal.code() in ALLOWED_REFUSALS, refusal.details()
        if refusal.code() == grpc.StatusCode.INVALID_ARGUMENT and refusal.details().startswith("malformed"):
            with pytest.raises(DecodeError):
                events_pb2.EventBatch.FromString(payload)
        return
    response = events_pb2.PublishResponse.FromString(answer)
    assert len(response.statuses) == len(events_pb2.EventBatch.FromString(payload).events)


async def test_server_still_serves_after_fuzzing(world: World) -> None:
    tenant = await _fuzz_tenant(world)
    response = await world.publish(tenant, [event(id=str(uuid.uuid4()))])
    assert response.accepted == 1
