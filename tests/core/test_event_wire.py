"""The compiled fast path (``barista_core.events.wire``) against the Python path it shortcuts.

The Python path (protobuf parse, ``events_from_proto``, ``EventValidator.check_all``) is the reference.
The fast path may decline any batch (None), but a batch it takes must be one the Python path accepts
whole, with the same ids, types, batch id and, byte for byte, the same canonical JSON per event.
Properties come as ``properties_json`` or as a ``Struct``, which the fast path reads from the wire format
(``struct_*`` below builds Structs byte by byte, for what the protobuf API will not write).
"""

from __future__ import annotations

import json
import struct
import uuid

import orjson
import pytest
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barista_core.events import CATALOGUE, EventLimits, EventValidator, format_ms, wire
from barista_core.proto import events_pb2
from barista_ingest.convert import _length_delimited, events_from_proto

NOW = 1_764_324_000_000  # 2025-11-28T10:00:00Z
LIMITS = EventLimits(max_identifier_length=40, max_properties_bytes=400, max_properties_depth=3, max_context_bytes=120)


def python_path(data: bytes, limits: EventLimits = LIMITS) -> tuple[str, list[str], list[str], list[object]]:
    batch = events_pb2.EventBatch.FromString(data)
    events = events_from_proto(batch.events)
    outcomes = EventValidator(limits).check_all(events, now_ms=NOW, received_at=format_ms(NOW))
    return batch.batch_id, [e.id for e in events], [e.type for e in events], outcomes


def fast_path(data: bytes, limits: EventLimits = LIMITS) -> wire.EncodedBatch | None:
    return wire.encode_batch(data, limits, now_ms=NOW, received_at=format_ms(NOW))


def assert_agrees(data: bytes, limits: EventLimits = LIMITS) -> wire.EncodedBatch | None:
    fast = fast_path(data, limits)
    if fast is None:
        return None
    batch_id, ids, types, outcomes = python_path(data, limits)
    assert all(type(o) is bytes for o in outcomes), [o for o in outcomes if type(o) is not bytes]
    assert (fast.batch_id, fast.ids, fast.types) == (batch_id, ids, types)
    assert fast.encoded == outcomes
    by_type: dict[str, list[object]] = {}  # the grouping the ingestor does for a batch not encoded here
    for event_type, outcome in zip(types, outcomes, strict=True):
        by_type.setdefault(event_type, []).append(outcome)
    assert list(fast.groups.items()) == list(by_type.items())  # the same groups, types in the same order
    return fast


def test_the_extension_is_built() -> None:
    """The package builds it wherever a C compiler is at hand (CI): without it every batch takes the Python
    path and this test says so, rather than the benchmark quietly halving."""
    assert wire.AVAILABLE


# ---- generated events: mostly valid ones, each with at most one thing wrong or unusual ---------------------

plain_text = st.text(
    st.characters(min_codepoint=0x20, blacklist_categories=("Cs",), blacklist_characters='"\\\x7f'), max_size=10
)
odd_text = st.one_of(
    st.text(max_size=6),  # any code point: quotes, backslashes, controls
    st.sampled_from(["a" * 40, "a" * 41, "é" * 40, "é" * 41]),  # at the identifier limit (40) and past it
    st.sampled_from(["\x1f", " ", "\x7f", '"', "\\", "\u2028", "\U0001f600"]),  # around what JSON escapes
)
good_ids = st.one_of(
    st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()),
    st.sampled_from(["01HZY3R4J8W6X2C9V5B7N3M1QK", "01hzy3r4j8w6x2c9v5b7n3m1qk", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"]),
)  # fmt: skip
bad_ids = st.one_of(
    st.sampled_from(["81HZY3R4J8W6X2C9V5B7N3M1QK", "01HZY3R4J8W6X2C9V5B7N3M1QI", "", "x" * 36]),
    st.uuids().map(lambda u: str(u).replace("-", "_")),
    st.text(max_size=40),
)  # fmt: skip
json_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(10**15), 10**15),
        st.sampled_from([0.5, -2.25, 1e-05, 3.0e20, 0.1, -0.0, 2.0**53, 2.0**53 + 2, 1e16, 1234.5678, 1.5e-7]),
        st.floats(allow_nan=False, allow_infinity=False),
        plain_text,
    ),
    lambda children: st.one_of(st.lists(children, max_size=2), st.dictionaries(plain_text, children, max_size=2)),
    max_leaves=3,
)  # fmt: skip
#: a value of each kind a required property can ask for
KIND_VALUES = {
    "string": st.sampled_from(["x", "é", "a b"]), "number": st.sampled_from([1, 2.5, -3, 0]),
    "integer": st.sampled_from([3, 0, -7]), "boolean": st.booleans(), "object": st.just({"a": 1}),
    "array": st.just([1, "b"]), "any": st.sampled_from([0, "", False, [], {}]),
}  # fmt: skip
#: wrong or borderline values for a required property of each kind (2.0 is a whole number; null is missing)
NEAR_MISSES = {
    "string": ["", 3, None, ["x"]], "number": [True, "1", None, 10**19, 2.0],
    "integer": [2.5, 2.0, 1e3, -0.0, True, None],
    "boolean": [0, "true", None], "object": [[], "{}", None], "array": [{}, "[]", None], "any": [None, 0, ""],
}  # fmt: skip
RAW_JSON = st.sampled_from([b"{}", b" { } ", b"[]", b'{"a":01}', b'{"a":1e400}', b'{"a":"\\u00e9"}', b'{"a":1,}',
                            b'{"a":tru}', b"{'a':1}", b'{"a":"\\n\\/"}', b'{"a" : [ 1 , {"b" : null} ] }',
                            b'{"a":"\xff"}', b'{"a":1}x', b'{"a":"\\ud800"}', b'{"a":"\\ud83d\\ude00"}', b"{ }",
                            b"{\n}", b'{"a":1', b'{"a":[1', b'{"a":{}'])  # fmt: skip
TYPES = [*sorted(CATALOGUE), "custom.level_done", "custom.x-y_z.w"]
#: kind -> (type, property) of every required property of that kind in the catalogue
REQUIRED_BY_KIND: dict[str, list[tuple[str, str]]] = {}
for _name, _type in sorted(CATALOGUE.items()):
    for _prop, _kind in dict(_type.required).items():
        REQUIRED_BY_KIND.setdefault(_kind, []).append((_name, _prop))
BAD_TYPES = ["Page.Viewed", "page", "custom.", "not.in.catalogue", "", "custom..x", "a" * 101 + ".b"]
MUTATIONS = ["id", "type", "no_timestamp", "timestamp", "identifier", "raw_json", "required", "both", "context",
             "extra", "merged", "deep", "struct_wire"]  # fmt: skip


# ---- Struct, Value and ListValue (google/protobuf/struct.proto) byte by byte --------------------------------
def value_number(number: float) -> bytes:
    return b"\x11" + struct.pack("<d", number)


def value_string(text: str) -> bytes:
    return _length_delimited(b"\x1a", text.encode())


def value_struct(*entries: bytes) -> bytes:
    return _length_delimited(b"\x2a", b"".join(entries))


def value_list(*values: bytes) -> bytes:
    return _length_delimited(b"\x32", b"".join(_length_delimited(b"\x0a", v) for v in values))


def struct_entry(key: str | None, value: bytes | None, tag: bytes = b"\x0a") -> bytes:
    """A map entry, of Struct.fields by default (``tag``: the map field's); None leaves the key or the value out
    (protobuf takes the default)."""
    inner = (b"" if key is None else _length_delimited(b"\x0a", key.encode())) + (
        b"" if value is None else _length_delimited(b"\x12", value)
    )
    return _length_delimited(tag, inner)


#: (what, Struct bytes, the properties JSON the fast path writes, or None where it leaves them to Python)
STRUCT_CASES = [
    ("a key twice: the last wins", struct_entry("a", value_number(1)) + struct_entry("a", value_string("x")), None),
    ("a Value of two kinds: the last wins", struct_entry("a", value_number(1) + value_string("x")), None),
    ("one kind twice", struct_entry("a", value_number(1) + value_number(2)), None),
    ("null_value", struct_entry("a", b"\x08\x00"), b'{"a":null}'),
    ("bool_value 2", struct_entry("a", b"\x20\x02"), b'{"a":true}'),
    ("a Value of no kind", struct_entry("a", b""), b'{"a":null}'),
    ("no key", struct_entry(None, value_number(1)), b'{"":1}'),
    ("no value", struct_entry("a", None), b'{"a":null}'),
    ("number_value as a varint", struct_entry("a", b"\x10\x01"), None),
    ("a truncated double", struct_entry("a", b"\x11\x00\x00"), None),
    ("a field Value does not have", struct_entry("a", b"\x3a\x00"), None),
    ("a field Struct does not have", struct_entry("a", value_number(1)) + b"\x12\x00", None),
    ("a field ListValue does not have", struct_entry("a", _length_delimited(b"\x32", b"\x12\x00")), None),
    ("lists and structs", struct_entry("b", value_list(value_number(1), value_list(), value_struct()))
     + struct_entry("a", value_struct(struct_entry("c", value_string("")), struct_entry("b", b"\x20\x00"))),
     b'{"a":{"b":false,"c":""},"b":[1,[],{}]}'),
    ("NaN and infinity", struct_entry("b", value_number(float("nan"))) + struct_entry("a", value_number(float("inf"))),
     None),
    ("numbers with an exponent", struct_entry("b", value_number(1e-05)) + struct_entry("a", value_number(-3e20)), None),
    ("numbers around 2^53", struct_entry("a", value_number(2.0**53)) + struct_entry("b", value_number(2.0**53 + 2))
     + struct_entry("c", value_number(-0.0)) + struct_entry("d", value_number(0.1)),
     b'{"a":9007199254740992,"b":9007199254740994.0,"c":0,"d":0.1}'),
    ("strings JSON escapes", struct_entry("a", value_string('say "hi"')) + struct_entry("b\\", value_number(1)), None),
    ("keys by code point", struct_entry("z", value_number(1)) + struct_entry("é", value_number(2))
     + struct_entry("Z", value_number(3)) + struct_entry("😀", value_number(4))
     + struct_entry("\u2028", value_number(5)) + struct_entry("", value_number(6)),
     '{"":6,"Z":3,"z":1,"é":2,"\u2028":5,"😀":4}'.encode()),
    ("structs 4 deep",
     struct_entry("a", value_struct(struct_entry("b", value_struct(struct_entry("c", value_struct()))))), None),
    ("lists 4 deep", struct_entry("a", value_list(value_list(value_list()))), None),
    ("3 deep", struct_entry("a", value_list(value_struct(struct_entry("b", value_number(1))))), b'{"a":[{"b":1}]}'),
]  # fmt: skip
ODD_STRUCTS = st.sampled_from([raw for _, raw, _ in STRUCT_CASES])

ONE_IN_FOUR = st.integers(0, 3).map(lambda n: n == 0)
CONTEXT_FIELDS = ["app_name", "app_version", "platform", "locale", "page_url"]


@st.composite
def events(draw: st.DrawFn, mutate: st.SearchStrategy[bool] = ONE_IN_FOUR) -> bytes:
    event_type = draw(st.sampled_from(TYPES))
    event = events_pb2.Event(id=draw(good_ids), type=event_type)
    event.occurred_at.FromMilliseconds(NOW - draw(st.sampled_from([0, 1_000, 86_400_000, 29 * 86_400_000, -299_000])))
    event.occurred_at.nanos += draw(st.sampled_from([0, 456_789]))
    for name in ("user_id", "session_id", "device_id"):
        if draw(st.booleans()):
            setattr(event, name, draw(plain_text))
    properties = draw(st.dictionaries(plain_text, json_values, max_size=3))
    for name, kind in dict(CATALOGUE[event_type].required if event_type in CATALOGUE else {}).items():
        properties[name] = draw(KIND_VALUES[kind])
    as_struct = draw(st.booleans())
    if as_struct and (properties or draw(st.booleans())):
        event.properties.update(properties)  # an empty one is still set
    elif properties or draw(st.booleans()):
        raw = json.dumps(properties, separators=(",", ":"), ensure_ascii=False).encode()
        if draw(st.booleans()):  # spaced out: embedded as sent
            raw = raw.replace(b",", b" ,\n ").replace(b"{", b"{ ")
        event.properties_json = raw
    for name in draw(
        st.lists(st.sampled_from(["app_name", "app_version", "platform", "locale", "page_url"]), max_size=3)
    ):
        setattr(event.context, name, draw(plain_text))

    mutation = draw(st.sampled_from(MUTATIONS)) if draw(mutate) else None
    if mutation == "id":
        event.id = draw(bad_ids)
    elif mutation == "type":
        event.type = draw(st.sampled_from(BAD_TYPES))
    elif mutation == "no_timestamp":
        event.ClearField("occurred_at")
    elif mutation == "timestamp":
        event.occurred_at.FromMilliseconds(NOW - draw(st.sampled_from([31 * 86_400_000, -301_000, NOW])))
    elif mutation == "identifier":
        setattr(event, draw(st.sampled_from(["user_id", "session_id", "device_id"])), draw(odd_text))
    elif mutation == "raw_json":  # under a type that requires nothing, so the JSON alone decides
        event.type, event.properties_json = "custom.raw", draw(RAW_JSON)
    elif mutation == "required":  # one required property of a chosen kind given a wrong or borderline value
        kind = draw(st.sampled_from(sorted(REQUIRED_BY_KIND)))
        event.type, name = draw(st.sampled_from(REQUIRED_BY_KIND[kind]))
        wanted = {prop: draw(KIND_VALUES[k]) for prop, k in dict(CATALOGUE[event.type].required).items()}
        given = {**wanted, name: draw(st.sampled_from(NEAR_MISSES[kind]))}
        event.ClearField("properties")
        event.properties_json = b""
        if as_struct:
            event.properties.update(given)
        else:
            event.properties_json = json.dumps(given).encode()
    elif mutation == "both":
        event.properties.update({"path": "/"})
        event.properties_json = draw(st.sampled_from([b"{}", b'{"path":"/"}']))
    elif mutation == "context":
        setattr(event.context, draw(st.sampled_from(["ip", "referrer"])), draw(odd_text))
    elif mutation == "extra":
        event.context.extra.update(draw(st.dictionaries(st.one_of(plain_text, odd_text), plain_text, min_size=1,
                                                        max_size=4)))  # fmt: skip
    elif mutation == "deep":
        event.properties_json = json.dumps({**properties, "d": {"e": {"f": {"g": 1}}}}).encode()
    data = event.SerializeToString()
    if mutation == "struct_wire":  # Struct properties as protobuf may receive them but not write them
        event.ClearField("properties")
        event.properties_json = b""
        event.type = "custom.struct"
        data = event.SerializeToString() + _length_delimited(b"\x3a", draw(ODD_STRUCTS))
    if mutation == "merged":  # two encodings of one event back to back: protobuf merges them
        data += events_pb2.Event(user_id=draw(plain_text), id=draw(good_ids)).SerializeToString()
    return data


def batch_bytes(encoded_events: list[bytes], batch_id: str) -> bytes:
    """An EventBatch of already-encoded events (as they are: two encodings back to back stay one event)."""
    out = b"".join(_length_delimited(b"\x0a", data) for data in encoded_events)
    return out + (_length_delimited(b"\x12", batch_id.encode()) if batch_id else b"")


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(events(mutate=st.booleans()))
def test_whatever_the_fast_path_takes_of_one_event_the_python_path_accepts_with_the_same_bytes(event: bytes) -> None:
    assert_agrees(batch_bytes([event], ""))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(events(), min_size=2, max_size=6), st.text(max_size=8))
def test_whatever_the_fast_path_takes_of_a_batch_the_python_path_accepts_with_the_same_bytes(
    encoded: list[bytes], batch_id: str
) -> None:
    assert_agrees(batch_bytes(encoded, batch_id))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_it_and_what_it_takes_parses(data: bytes) -> None:
    fast = fast_path(data)
    if fast is not None:
        assert_agrees(data)


# ---- the batches it must take: what clients send -----------------------------------------------------------


def plain_event(event_type: str, properties: dict[str, object], **fields: str) -> bytes:
    event = events_pb2.Event(id=str(uuid.uuid4()), type=event_type, user_id="u-1", session_id="s-1",
                             properties_json=orjson.dumps(properties), **fields)  # fmt: skip
    event.occurred_at.FromMilliseconds(NOW - 5_000)
    event.context.platform = "ios"
    event.context.app_version = "3.2.1"
    return event.SerializeToString()


def sample(name: str) -> dict[str, object]:
    kinds = {"string": "x", "number": 2.5, "integer": 3, "boolean": True, "object": {"a": 1}, "array": [1], "any": 0}
    return {prop: kinds[kind] for prop, kind in dict(CATALOGUE[name].required).items()}


def test_it_takes_every_catalogue_type_with_its_required_properties() -> None:
    encoded = [plain_event(name, {**sample(name), "extra": {"nested": [1, 2]}}) for name in sorted(CATALOGUE)]
    fast = assert_agrees(batch_bytes(encoded, "b-1"), EventLimits())
    assert fast is not None and len(fast.encoded) == len(CATALOGUE) and fast.batch_id == "b-1"


def test_it_takes_custom_types_unicode_identifiers_and_empty_properties() -> None:
    encoded = [plain_event("custom.level_completed", {}, device_id="телефон-1"), plain_event("app.opened", {"é": "ü"})]
    fast = assert_agrees(batch_bytes(encoded, ""), EventLimits())
    assert fast is not None
    assert orjson.loads(fast.encoded[0])["properties"] == {}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda e: setattr(e, "id", "not-an-id"), "invalid id"),
        (lambda e: setattr(e, "type", "nope.unknown"), "unknown type"),
        (lambda e: e.ClearField("occurred_at"), "no timestamp"),
        (lambda e: e.occurred_at.FromMilliseconds(NOW - 40 * 86_400_000), "too old"),
        (lambda e: setattr(e, "properties_json", b'{"path": 1}'), "required property of the wrong kind"),
        (lambda e: setattr(e, "properties_json", b'{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}'),
         "too deep"),
        (lambda e: setattr(e, "properties_json", b'{"path": "/", "q": "\\u00e9"}'), "a \\u escape"),
        (lambda e: setattr(e, "user_id", 'say "hi"'), "a string JSON escapes"),
        (lambda e: e.properties.update({"path": "/"}), "Struct properties and properties_json both"),
        (lambda e: e.context.extra.update({"k": 'a"b'}), "context.extra with a string JSON escapes"),
    ],
)  # fmt: skip
def test_it_declines_what_the_python_path_must_decide(change, why) -> None:
    event = events_pb2.Event.FromString(plain_event("page.viewed", {"path": "/"}))
    change(event)
    assert fast_path(batch_bytes([event.SerializeToString()], ""), EventLimits()) is None, why


def test_a_repeated_id_in_the_batch_is_left_to_the_python_path() -> None:
    one = plain_event("page.viewed", {"path": "/"})
    assert fast_path(batch_bytes([one, plain_event("page.viewed", {"path": "/"})], ""), EventLimits()) is not None
    assert fast_path(batch_bytes([one, one], ""), EventLimits()) is None


def test_a_truncated_request_is_declined() -> None:
    data = batch_bytes([plain_event("page.viewed", {"path": "/"})], "b")
    for cut in range(1, len(data)):
        fast = fast_path(data[:cut])
        if fast is not None:  # a cut on a field boundary can still be a well-formed batch
            assert_agrees(data[:cut])


@pytest.mark.parametrize("char", ["\x00", "\x1f", '"', "\\", "\x7f"])
@pytest.mark.parametrize("field", ["user_id", "session_id", "device_id", "context"])
def test_a_string_json_escapes_is_left_to_the_python_path(char: str, field: str) -> None:
    event = events_pb2.Event.FromString(plain_event("page.viewed", {"path": "/"}))
    if field == "context":
        event.context.locale = f"en{char}IN"
    else:
        setattr(event, field, f"a{char}b")
    data = batch_bytes([event.SerializeToString()], "")
    assert fast_path(data, EventLimits()) is None
    assert all(type(o) is bytes for o in python_path(data, EventLimits())[3])  # valid: Python escapes it


@pytest.mark.parametrize("char", ["\u2028", "é", "\U0001f600", " ", "\x80"])
def test_characters_json_keeps_as_they_are_take_the_fast_path(char: str) -> None:
    event = events_pb2.Event.FromString(plain_event("page.viewed", {"path": "/"}))
    event.user_id = f"a{char}b"
    event.context.locale = f"en{char}IN"
    assert assert_agrees(batch_bytes([event.SerializeToString()], ""), EventLimits()) is not None


@pytest.mark.parametrize(
    "raw",
    [b"\xed\xa0\x80", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"a\xff", b"\xc3"],
    ids=["surrogate", "overlong-2", "overlong-3", "above-10ffff", "5-byte", "ff", "truncated"],
)
def test_a_string_that_is_not_utf8_is_declined_as_protobuf_refuses_it(raw: bytes) -> None:
    # user_id (field 4) appended to a valid event: the last value wins
    data = batch_bytes([plain_event("page.viewed", {"path": "/"}) + _length_delimited(b"\x22", raw)], "")
    assert fast_path(data, EventLimits()) is None
    with pytest.raises(DecodeError):
        events_pb2.EventBatch.FromString(data)


def test_a_batch_of_many_distinct_contexts_takes_the_fast_path() -> None:
    """Many users, each with their own ip: 20 contexts in turn, more than the per-batch memo keeps (16)."""
    encoded = []
    for n in range(60):
        event = events_pb2.Event.FromString(plain_event("page.viewed", {"path": "/"}))
        event.context.ip = f"10.0.0.{n % 20}"
        encoded.append(event.SerializeToString())
    fast = assert_agrees(batch_bytes(encoded, ""), EventLimits())
    assert fast is not None and len(fast.encoded) == 60


@pytest.mark.parametrize(
    "raw",
    [b'{"a":1', b'{"a":[1', b'{"a":{"b":2}', b'{"a":1,}', b'{"a":[1,]}', b'{"a" 1}', b'{"a":01}', b'{"a":1}}',
     b'{"a":-}', b'{"a":1.}', b'{"a":.5}', b'{"a":1e}', b'{"a":nul}', b'{a:1}', b'{"a":"x}', b"{\"a\":\"\t\"}"],
)  # fmt: skip
def test_properties_json_that_is_not_json_is_declined(raw: bytes) -> None:
    event = events_pb2.Event.FromString(plain_event("custom.raw", {}))
    event.properties_json = raw
    data = batch_bytes([event.SerializeToString()], "")
    assert fast_path(data, EventLimits()) is None
    assert type(python_path(data, EventLimits())[3][0]) is not bytes  # the Python path rejects it


@pytest.mark.parametrize(
    ("clear", "tail", "where"),
    [
        ("", b"\x22\x05ab", "a string field longer than its event"),
        (
            "occurred_at",
            _length_delimited(b"\x1a", Timestamp(seconds=NOW // 1000).SerializeToString() + b"\x10"),
            "a timestamp whose nanos have no value",
        ),
        ("context", b"\x42\x04\x0a\x09ab", "a context field longer than its context"),
        ("", b"\x0f", "a field of wire type 7"),
    ],
)
def test_a_malformed_field_inside_an_event_is_declined(clear: str, tail: bytes, where: str) -> None:
    """As protobuf refuses the request."""
    event = events_pb2.Event.FromString(plain_event("page.viewed", {"path": "/"}))
    if clear:  # the malformed one is then the event's only timestamp or context
        event.ClearField(clear)
    data = batch_bytes([event.SerializeToString() + tail], "")
    assert fast_path(data, EventLimits()) is None, where
    with pytest.raises(DecodeError):
        events_pb2.EventBatch.FromString(data)


@pytest.mark.parametrize(("raw", "expected"), [(raw, json) for _, raw, json in STRUCT_CASES],
                         ids=[what for what, _, _ in STRUCT_CASES])  # fmt: skip
def test_struct_properties_are_taken_as_the_python_path_writes_them(raw: bytes, expected: bytes | None) -> None:
    event = events_pb2.Event(id=str(uuid.uuid4()), type="custom.struct")
    event.occurred_at.FromMilliseconds(NOW)
    data = batch_bytes([event.SerializeToString() + _length_delimited(b"\x3a", raw)], "")
    fast = assert_agrees(data)
    if expected is None:
        assert fast is None
    else:
        assert fast is not None
        assert orjson.loads(fast.encoded[0])["properties"] == orjson.loads(expected)
        assert b'"properties":' + expected + b',"context"' in fast.encoded[0]


def test_a_batch_of_struct_properties_takes_the_fast_path() -> None:
    """What an SDK writing Struct properties sends: every catalogue type with its required properties."""
    encoded = []
    for name in sorted(CATALOGUE):
        event = events_pb2.Event.FromString(plain_event(name, {}))
        event.properties_json = b""
        event.properties.update({**sample(name), "extra": {"nested": [1, 2.5, None, True]}, "price": 19.99})
        encoded.append(event.SerializeToString())
    fast = assert_agrees(batch_bytes(encoded, "b-1"), EventLimits())
    assert fast is not None and len(fast.encoded) == len(CATALOGUE)


@pytest.mark.parametrize(
    ("limits", "taken"),
    [(EventLimits(max_properties_bytes=36), True), (EventLimits(max_properties_bytes=35), False),
     (EventLimits(max_properties_depth=2), True), (EventLimits(max_properties_depth=1), False)],
)  # fmt: skip
def test_struct_properties_are_held_to_the_size_and_depth_limits(limits: EventLimits, taken: bool) -> None:
    event = events_pb2.Event.FromString(plain_event("custom.limits", {}))
    event.properties_json = b""
    event.properties.update({"a": [1, 2], "b": "0123456789", "c": 0.5})  # {"a":[1,2],"b":"0123456789","c":0.5}
    data = batch_bytes([event.SerializeToString()], "")
    assert (assert_agrees(data, limits) is not None) is taken
    if not taken:
        assert type(python_path(data, limits)[3][0]) is not bytes  # too large or too deep: Python rejects it


def test_context_extra_takes_the_fast_path_with_its_keys_sorted() -> None:
    event = events_pb2.Event.FromString(plain_event("page.viewed", {"path": "/"}))
    event.context.extra.update({"utm_source": "ig", "é": "", "Z": "1", "campaign": "winter 😀"})
    fast = assert_agrees(batch_bytes([event.SerializeToString()], ""), EventLimits())
    assert fast is not None
    assert b'"context":{"app_version":"3.2.1","platform":"ios","extra":{"Z":"1","campaign":"winter \xf0\x9f\x98\x80",' \
           b'"utm_source":"ig","\xc3\xa9":""}}}' in fast.encoded[0]  # fmt: skip


@pytest.mark.parametrize(
    ("entries", "taken"),
    [
        ([("k", "v")], True),
        ([("b", "1"), ("a", "2")], True),
        ([(None, "v")], True),  # no key: ""
        ([("k", None)], True),  # no value: ""
        ([("k", "1"), ("k", "2")], False),  # a key twice: the last wins
        ([("k", "a\\b")], False),  # JSON escapes it
    ],
)
def test_context_extra_as_protobuf_may_receive_it(entries: list[tuple[str | None, str | None]], taken: bool) -> None:
    event = events_pb2.Event.FromString(plain_event("page.viewed", {"path": "/"}))
    extra = b"".join(struct_entry(k, None if v is None else v.encode(), tag=b"\x52") for k, v in entries)  # field 10
    context = event.context.SerializeToString()
    event.ClearField("context")
    data = batch_bytes([event.SerializeToString() + _length_delimited(b"\x42", extra + context)], "")
    assert (assert_agrees(data, EventLimits()) is not None) is taken


def test_context_extra_counts_towards_the_context_limit() -> None:
    event = events_pb2.Event.FromString(plain_event("page.viewed", {"path": "/"}))
    event.context.extra.update({"k": "v" * 40})  # {"app_version":"3.2.1","platform":"ios","extra":{"k":"vvv…"}}
    data = batch_bytes([event.SerializeToString()], "")
    size = len(orjson.dumps({"app_version": "3.2.1", "platform": "ios", "extra": {"k": "v" * 40}}))
    assert assert_agrees(data, EventLimits(max_context_bytes=size)) is not None
    assert fast_path(data, EventLimits(max_context_bytes=size - 1)) is None
    assert type(python_path(data, EventLimits(max_context_bytes=size - 1))[3][0]) is not bytes
