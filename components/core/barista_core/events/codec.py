"""The wire form of events on the broker, and conversion of JSON request bodies into :class:`EventInput`.

An AMQP message on ``barista.events`` carries events of ONE tenant as a JSON array of canonical
events; it is routed by ``<tenant>.<type>`` of every type it holds (the routing key plus the ``BCC``
header, see :mod:`barista_core.events.publisher`), so consumers keep the events whose type their
patterns match::

    [{"id": "01J…", "type": "order.completed", "occurred_at": "2026-11-28T10:00:00.123Z",
      "received_at": "2026-11-28T10:00:00.456Z", "user_id": "u1", "session_id": "", "device_id": "",
      "properties": {"order_id": "o-1", "total": 499.0, "currency": "INR"}, "context": {"platform": "ios"}}, …]

with headers ``x-barista-tenant``, ``x-barista-schema: barista.events.v1`` and ``x-barista-events``
(the count), content type ``application/json`` and content encoding ``zstd``: the publisher compresses
every body (level 1; event JSON shrinks ~9 times, so the broker stores, copies and delivers that much less).
Consumers read bodies with :func:`message_events` (or :func:`message_body`), which also take
uncompressed ones. Webhook batches use the same event objects, uncompressed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson
from backports import zstd

from barista_core.events.model import EventInput

SCHEMA = "barista.events.v1"
TENANT_HEADER = "x-barista-tenant"
SCHEMA_HEADER = "x-barista-schema"
COUNT_HEADER = "x-barista-events"
#: RabbitMQ's sender-selected distribution: more routing keys for the same message (removed on delivery).
BCC_HEADER = "BCC"
CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "zstd"
#: zstd's fastest level: the compression runs on the ingest server's event loop
COMPRESSION_LEVEL = 1
#: a body that decompresses to more is poison (the publisher writes messages of at most a few MiB)
MAX_BODY_BYTES = 64 * 1024 * 1024

CONTEXT_FIELDS = (
    "app_name",
    "app_version",
    "platform",
    "os_version",
    "locale",
    "ip",
    "user_agent",
    "page_url",
    "referrer",
)
_CAMEL = {"occurredAt": "occurred_at", "userId": "user_id", "sessionId": "session_id", "deviceId": "device_id"}
_CONTEXT_CAMEL = {
    "appName": "app_name",
    "appVersion": "app_version",
    "osVersion": "os_version",
    "userAgent": "user_agent",
    "pageUrl": "page_url",
}

# ---- timestamps ------------------------------------------------------------------------------------------

_second_text: dict[int, str] = {}
_text_second: dict[str, int] = {}
#: ".000Z" … ".999Z": the end of a timestamp, by milliseconds (a look-up instead of formatting per event)
_MILLIS_TEXT = tuple(f".{millis:03d}Z" for millis in range(1000))


def format_ms(ms: int) -> str:
    """``2026-11-28T10:00:00.123Z`` for epoch milliseconds ``ms`` (UTC, millisecond precision)."""
    prefix = _second_text.get(ms // 1000)
    if prefix is None:
        seconds = ms // 1000
        if len(_second_text) > 100_000:
            _second_text.clear()
        prefix = _second_text[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return prefix + _MILLIS_TEXT[ms % 1000]


_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z")


def parse_timestamp_ms(text: str) -> int:
    """Epoch milliseconds of an RFC 3339 timestamp (``…Z`` or ``…+05:30``); raises ValueError."""
    if len(text) == 24 and text[19] == "." and text[23] == "Z":  # the canonical form: cached per second
        seconds = _text_second.get(text[:19])
        if seconds is not None and text[20:23].isdigit():
            return seconds * 1000 + int(text[20:23])
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text[:40]!r}")
    date, clock, fraction, zulu, sign, off_h, off_m = match.groups()
    head = f"{date}T{clock}"
    seconds = _text_second.get(head)
    if seconds is None:
        try:
            parsed = dt.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            raise ValueError(f"not a valid date/time: {text[:40]!r}") from None
        seconds = calendar.timegm(parsed.timetuple())
        if len(_text_second) > 100_000:
            _text_second.clear()
        _text_second[head] = seconds
    millis = int((fraction or "0")[:3].ljust(3, "0"))
    if not zulu:
        offset = (int(off_h) * 60 + int(off_m)) * 60
        seconds = seconds - offset if sign == "+" else seconds + offset
    return seconds * 1000 + millis


# ---- encoding for the broker --------------------------------------------------------------------------


def join_events(encoded: Sequence[bytes]) -> bytes:
    """A JSON array of already-encoded events."""
    return b"[" + b",".join(encoded) + b"]"


def compress_body(body: bytes) -> bytes:
    """``body`` as the publisher sends it (content encoding :data:`CONTENT_ENCODING`)."""
    return zstd.compress(body, level=COMPRESSION_LEVEL)


class UndecodableMessage(ValueError):
    """A broker message is not a batch of canonical events (poison: dead-letter it)."""


class EncodedMessage(Protocol):
    body: bytes
    content_encoding: str


def message_body(message: EncodedMessage) -> bytes:
    """The body of a broker message as JSON: decompressed when its content encoding says so. Raises
    :class:`UndecodableMessage` for an encoding other than zstd or a body that does not decompress."""
    encoding = message.content_encoding
    if not encoding:
        return message.body
    if encoding != CONTENT_ENCODING:
        raise UndecodableMessage(f"content encoding {encoding!r} is not {CONTENT_ENCODING!r}")
    decompressor = zstd.ZstdDecompressor()
    try:
        body = decompressor.decompress(message.body, max_length=MAX_BODY_BYTES)
    except zstd.ZstdError as exc:
        raise UndecodableMessage(f"body is not zstd: {exc}") from None
    if not decompressor.eof or decompressor.unused_data:
        raise UndecodableMessage(f"body is not one zstd frame of at most {MAX_BODY_BYTES >> 20} MiB")
    return body


def message_events(message: EncodedMessage) -> list[dict[str, Any]]:
    """The events of one broker message (:func:`message_body`, then :func:`decode_events`)."""
    return decode_events(message_body(message))


def decode_events(body: bytes) -> list[dict[str, Any]]:
    """The events of one broker message; raises :class:`UndecodableMessage` unless it is a JSON array of
    objects. (Fields are checked where they are used: a writer meeting a malformed event reports it.)"""
    try:
        events = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UndecodableMessage(f"body is not JSON: {exc}") from None
    if type(events) is not list:
        raise UndecodableMessage(f"body is a JSON {type(events).__name__}, not an array of events")
    if events and not (type(events[0]) is dict and type(events[-1]) is dict):
        raise UndecodableMessage("the array holds something other than event objects")
    return events


# ---- JSON request bodies (the gateway's HTTP bridge) ---------------------------------------------------


def event_from_json(obj: Any) -> EventInput:
    """Convert one JSON event object (snake_case or proto3-JSON camelCase keys) into an :class:`EventInput`.

    Never raises: an event that cannot be converted comes back with ``invalid`` set.
    """
    if not isinstance(obj, Mapping):
        return EventInput(id="", type="", occurred_at_ms=None, invalid=("invalid_event: not a JSON object", ""))
    data = {_CAMEL.get(k, k): v for k, v in obj.items()}
    raw_id = data.get("id")
    event = EventInput(
        id=raw_id if isinstance(raw_id, str) else "",
        type=data.get("type") if isinstance(data.get("type"), str) else "",  # type: ignore[arg-type]
        occurred_at_ms=None,
    )
    if raw_id is not None and not isinstance(raw_id, str):
        event.invalid = ("invalid_id: id must be a string", "id")
        return event
    if data.get("type") is not None and not isinstance(data.get("type"), str):
        event.invalid = ("invalid_type: type must be a string", "type")
        return event
    occurred = data.get("occurred_at")
    if occurred is not None:
        if not isinstance(occurred, str):
            event.invalid = ("invalid_timestamp: occurred_at must be an RFC 3339 string", "occurred_at")
            return event
        try:
            event.occurred_at_ms = parse_timestamp_ms(occurred)
        except ValueError as exc:
            event.invalid = (f"invalid_timestamp: {exc}", "occurred_at")
            return event
    for name in ("user_id", "session_id", "device_id"):
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            event.invalid = (f"invalid_field: {name} must be a string", name)
            return event
        setattr(event, name, value)
    properties = data.get("properties")
    if properties is not None:
        if not isinstance(properties, dict):
            event.invalid = ("invalid_properties: properties must be a JSON object", "properties")
            return event
        event.properties = properties
    context = data.get("context")
    if context is not None:
        if not isinstance(context, dict):
            event.invalid = ("invalid_context: context must be a JSON object", "context")
            return event
        event.context = {_CONTEXT_CAMEL.get(k, k): v for k, v in context.items()}
    return event


def events_from_json(items: Any) -> list[EventInput]:
    """Convert the ``events`` array of a JSON batch; raises ValueError when it is not an array."""
    if not isinstance(items, list):
        raise ValueError("events must be a JSON array")
    return [event_from_json(item) for item in items]
