"""Protobuf ⇄ domain: ``barista.events.v1`` messages to :class:`EventInput`, :class:`BatchResult` back.

Hand-written rather than ``json_format`` because it runs for every event: a typical event converts
in a few microseconds. ``Struct`` numbers are doubles; whole numbers within ±2⁵³ come back as ``int``
so ``{"quantity": 2}`` stays ``2`` in ClickHouse and webhooks, and keys come back sorted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf import struct_pb2

from barista_core.events import BatchResult, EventInput, EventStatusCode, UniformStatuses
from barista_core.events.wire import encode_statuses, encode_uniform_statuses
from barista_core.proto import events_pb2

_SAFE_INT = 2**53
_MISSING: Any = object()


def value_to_python(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        number = value.number_value
        if number.is_integer() and -_SAFE_INT <= number <= _SAFE_INT:
            return int(number)
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [value_to_python(v) for v in value.list_value.values]
    return None


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    """The Struct as a dict, keys in sorted order: upb's map iterates in hash order, and the compiled path
    (``barista_core.events.wire``), which reads the wire format, writes the same JSON this way."""
    fields = struct.fields
    out: dict[str, Any] = {}
    for key in sorted(fields):  # iterating keys and indexing beats .items() on upb's map
        value = fields[key]
        kind = value.WhichOneof("kind")
        if kind == "string_value":  # the common kinds inline, without a call per value
            out[key] = value.string_value
        elif kind == "number_value":
            number = value.number_value
            out[key] = int(number) if number.is_integer() and -_SAFE_INT <= number <= _SAFE_INT else number
        else:
            out[key] = value_to_python(value)
    return out


_CONTEXT_NAMES = {d: d.name for d in events_pb2.EventContext.DESCRIPTOR.fields}
_EXTRA = events_pb2.EventContext.DESCRIPTOR.fields_by_name["extra"]


def context_to_dict(context: events_pb2.EventContext) -> dict[str, Any] | None:
    """The set fields by field number, ``extra`` last with its keys sorted (as the compiled path writes it)."""
    names = _CONTEXT_NAMES
    out = {names[d]: (dict(sorted(v.items())) if d is _EXTRA else v) for d, v in context.ListFields()}
    return out or None


def event_from_proto(event: events_pb2.Event) -> EventInput:
    """The :class:`EventInput` of one event: the plain statement of the conversion. The server converts
    whole batches with :func:`events_from_proto`, which a property test holds to this."""
    occurred: int | None = None
    if event.HasField("occurred_at"):
        ts = event.occurred_at
        occurred = ts.seconds * 1000 + ts.nanos // 1_000_000
    context = context_to_dict(event.context) if event.HasField("context") else None
    return EventInput(
        event.id,
        event.type,
        occurred,
        event.user_id,
        event.session_id,
        event.device_id,
        struct_to_dict(event.properties) if event.HasField("properties") else None,
        context,
        None,
        event.properties_json or None,
    )


def events_from_proto(events: Iterable[events_pb2.Event]) -> list[EventInput]:
    """:func:`event_from_proto` of every event, contexts shared within the batch.

    The same conversion written out as one loop, without a call per event (this runs for every event the
    server receives). The context is looked up by its bytes without asking ``HasField`` first: an unset
    context serialises to ``b""``, which maps to None, as a set but empty one does.
    """
    contexts: dict[bytes, dict[str, Any] | None] = {b"": None}
    out: list[EventInput] = []
    append = out.append
    new = EventInput
    for event in events:
        occurred: int | None = None
        if event.HasField("occurred_at"):
            ts = event.occurred_at
            occurred = ts.seconds * 1000 + ts.nanos // 1_000_000
        key = event.context.SerializeToString()
        context = contexts.get(key, _MISSING)
        if context is _MISSING:
            context = contexts[key] = context_to_dict(event.context)
        append(
            new(
                event.id,
                event.type,
                occurred,
                event.user_id,
                event.session_id,
                event.device_id,
                struct_to_dict(event.properties) if event.HasField("properties") else None,
                context,
                None,
                event.properties_json or None,
            )
        )
    return out


def result_to_proto(result: BatchResult, batch_id: str = "") -> events_pb2.PublishResponse:
    """The ``PublishResponse`` of ``result`` through the protobuf API (the server sends :func:`result_to_bytes`)."""
    status = events_pb2.EventStatus
    response = events_pb2.PublishResponse(
        accepted=result.accepted, rejected=result.rejected, batch_id=batch_id, retry_after_ms=result.retry_after_ms
    )
    response.statuses.extend([status(id=s.id, code=s.code, reason=s.reason, field=s.field) for s in result.statuses])
    return response


# ---- the response, encoded directly ------------------------------------------------------------------
# PublishResponse is one status per event: building 500 EventStatus messages through the protobuf API
# costs more than the rest of the answer. These functions write the same wire format (tests compare
# the two byte for byte after parsing).


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(tag: bytes, payload: bytes) -> bytes:
    return tag + (bytes((len(payload),)) if len(payload) < 0x80 else _varint(len(payload))) + payload


_CODE_FIELD = {int(code): b"\x10" + bytes((int(code),)) for code in EventStatusCode}


def _status_bytes(status: Any) -> bytes:
    # proto3 leaves out fields that hold their default ("" / 0); so do we, to produce identical bytes
    payload = _length_delimited(b"\x0a", status.id.encode()) if status.id else b""
    payload += b"\x10" + bytes((status.code,))
    if status.reason:
        payload += _length_delimited(b"\x1a", status.reason.encode())
    if status.field:
        payload += _length_delimited(b"\x22", status.field.encode())
    return _length_delimited(b"\x0a", payload)


def result_to_bytes(result: BatchResult, batch_id: str = "") -> bytes:
    """The serialised ``PublishResponse`` of ``result`` (what :func:`result_to_proto` would serialise to)."""
    parts: list[bytes] = []
    statuses = result.statuses
    if type(statuses) is UniformStatuses and encode_uniform_statuses is not None:  # the compiled encoders
        parts.append(encode_uniform_statuses(statuses.ids, statuses.code, statuses.reason))
    elif type(statuses) is list and encode_statuses is not None:
        parts.append(encode_statuses(statuses))
    else:
        parts.extend(_statuses_bytes(statuses))
    if result.accepted:
        parts.append(b"\x10" + _varint(result.accepted))
    if result.rejected:
        parts.append(b"\x18" + _varint(result.rejected))
    if batch_id:
        parts.append(_length_delimited(b"\x22", batch_id.encode()))
    if result.retry_after_ms:
        parts.append(b"\x28" + _varint(result.retry_after_ms))
    return b"".join(parts)


def _statuses_bytes(statuses: Iterable[Any]) -> list[bytes]:
    parts: list[bytes] = []
    append = parts.append
    code_field = _CODE_FIELD
    for status in statuses:
        # the common case (ACCEPTED: no reason, no field; id and code with lengths of one byte) written inline
        if not status.reason and not status.field:
            raw = status.id.encode()
            size = len(raw)
            code = code_field.get(status.code)
            if 0 < size < 124 and code is not None:
                append(b"\x0a%c\x0a%c%b%b" % (size + 4, size, raw, code))
                continue
        append(_status_bytes(status))
    return parts
