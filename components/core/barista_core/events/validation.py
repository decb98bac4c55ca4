"""Per-event validation: id format, type, timestamp window, identifiers, properties and context.

:meth:`EventValidator.check` either returns the canonical encoded event (ready for the broker) or a
:class:`Rejection` whose reason starts with a machine-readable code:

=========================  ==========================================================================
code                       meaning (``field`` names the offending value)
=========================  ==========================================================================
``missing_id``             no id
``invalid_id``             id is neither a UUID (any version) nor a ULID
``duplicate_id``           the same id appears earlier in this batch
``missing_type``           no type
``invalid_type``           type is not dot-separated words of ``[a-z0-9_-]`` or longer than 100
``unknown_type``           type is not in the catalogue and not ``custom.*``
``missing_timestamp``      no occurred_at
``invalid_timestamp``      occurred_at cannot be parsed (JSON bridge)
``timestamp_too_old``      occurred_at is older than the accepted window
``timestamp_in_future``    occurred_at is later than now + the allowed clock skew
``invalid_field``          user_id / session_id / device_id is not a string or too long
``missing_property``       a property the type requires is absent or null
``invalid_property``       a required property has the wrong kind (e.g. ``total`` not a number)
``invalid_properties``     properties are not a JSON object or cannot be encoded
``properties_too_large``   properties exceed the size limit (bytes of their JSON)
``properties_too_deep``    properties nest deeper than the depth limit
``invalid_context``        context is malformed or too large
``invalid_event``          the transport could not read the event at all
=========================  ==========================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from barista_core.events.catalogue import CATALOGUE, CUSTOM_PREFIX, MAX_TYPE_LENGTH, TYPE_PATTERN, PropertyKind
from barista_core.events.codec import CONTEXT_FIELDS, format_ms
from barista_core.events.model import EventInput, EventLimits

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}\Z")
_UUID_MATCH = _UUID.match
_ULID_MATCH = _ULID.match
_UNCHECKED = object()
_NO_CONTEXT = orjson.Fragment(b"{}")
_CONTAINERS = (dict, list)
_CONTEXT_KEYS = frozenset((*CONTEXT_FIELDS, "extra"))
#: characters of one context value
MAX_CONTEXT_VALUE = 2048


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    field: str


def normalise_id(raw: str) -> str | None:
    """The canonical spelling of an event id (UUID lower-case, ULID upper-case), or None if it is neither."""
    if len(raw) == 36 and _UUID.match(raw):
        return raw.lower()
    if len(raw) == 26 and _ULID.match(raw):
        return raw.upper()
    return None


def _is_string(v: Any) -> bool:
    return isinstance(v, str) and v != ""


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_integer(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer())


_KIND_CHECKS: dict[PropertyKind, Callable[[Any], bool]] = {
    "string": _is_string,
    "number": _is_number,
    "integer": _is_integer,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "any": lambda v: v is not None,
}
_KIND_TEXT: dict[PropertyKind, str] = {
    "string": "a non-empty string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "an object",
    "array": "an array",
    "any": "a value",
}


def _too_deep(value: Any, remaining: int) -> bool:
    """Whether ``value`` (a dict or list) nests more than ``remaining`` container levels."""
    if remaining <= 0:
        return True
    children = value.values() if type(value) is dict else value
    for child in children:  # noqa: SIM110 - a loop: any() with a generator costs more per event
        if type(child) in _CONTAINERS and _too_deep(child, remaining - 1):
            return True
    return False


def _required_checks(required: dict[str, PropertyKind]) -> tuple[tuple[str, Callable[[Any], bool], str, str], ...]:
    return tuple(
        (name, _KIND_CHECKS[kind], f"properties.{name}", f"invalid_property: {name} must be {_KIND_TEXT[kind]}")
        for name, kind in required.items()
    )


_REQUIRED = {name: _required_checks(dict(t.required)) for name, t in CATALOGUE.items()}
_EMPTY_OBJECT = b"{}"


class EventValidator:
    """Validates events against the catalogue and :class:`EventLimits`; encodes the valid ones."""

    def __init__(self, limits: EventLimits | None = None) -> None:
        self.limits = limits or EventLimits()
        self._type_ok: dict[str, Rejection | None] = {}
        #: id(context) -> (context, its JSON or rejection): transports hand the events of a batch one shared
        #: dict per distinct context (a batch usually holds a few: same app, a handful of platforms)
        self._contexts: dict[int, tuple[dict[str, Any], bytes | Rejection]] = {}

    @property
    def limits(self) -> EventLimits:
        return self._limits

    @limits.setter
    def limits(self, limits: EventLimits) -> None:
        self._limits = limits
        # the limits every event is checked against, as plain attributes (read per event)
        self._max_age_ms = limits.max_age_ms
        self._max_future_skew_ms = limits.max_future_skew_ms
        self._max_identifier_length = limits.max_identifier_length
        self._max_properties_bytes = limits.max_properties_bytes
        self._max_properties_depth = limits.max_properties_depth

    def begin_batch(self) -> None:
        """Forget per-batch memos (the contexts seen); call before checking a new batch."""
        self._contexts = {}

    def _check_type(self, name: str) -> Rejection | None:
        rejection: Rejection | None = None
        if not name:
            rejection = Rejection("missing_type: type is required", "type")
        elif len(name) > MAX_TYPE_LENGTH or not TYPE_PATTERN.match(name):
            rejection = Rejection(
                f"invalid_type: {name[:60]!r} is not dot-separated words of a-z, 0-9, '_' and '-' "
                f"(at most {MAX_TYPE_LENGTH} characters)",
                "type",
            )
        elif name not in CATALOGUE and not name.startswith(CUSTOM_PREFIX):
            rejection = Rejection(
                f"unknown_type: {name!r} is not in the event catalogue; send your own types as custom.<name>", "type"
            )
        if len(self._type_ok) < 10_000:  # a bounded cache: clients may send many distinct bad names
            self._type_ok[name] = rejection
        return rejection

    def check(self, event: EventInput, *, now_ms: int, received_at: str, seen: set[str]) -> Rejection | bytes:
        """The encoded event, or why it is rejected. ``seen`` collects ids accepted earlier in the batch."""
        return self._check(event, now_ms, received_at, seen)

    def check_all(self, events: Iterable[EventInput], *, now_ms: int, received_at: str) -> list[Rejection | bytes]:
        """:meth:`check` of every event of a batch, in order: per-batch memos are reset first, and an id
        accepted earlier in the batch makes a later event a ``duplicate_id``."""
        self.begin_batch()
        seen: set[str] = set()
        check = self._check
        return [check(event, now_ms, received_at, seen) for event in events]

    def _check(self, event: EventInput, now_ms: int, received_at: str, seen: set[str]) -> Rejection | bytes:
        # positional and with the limits as attributes: this runs for every event
        if event.invalid is not None:
            return Rejection(*event.invalid)
        raw_id = event.id
        if not raw_id:
            return Rejection("missing_id: id is required (a UUID or ULID)", "id")
        if len(raw_id) == 36 and _UUID_MATCH(raw_id):
            event_id = raw_id.lower()
        elif len(raw_id) == 26 and _ULID_MATCH(raw_id):
            event_id = raw_id.upper()
        else:
            return Rejection(f"invalid_id: {raw_id[:60]!r} is neither a UUID nor a ULID", "id")
        if event_id in seen:
            return Rejection(f"duplicate_id: {event_id} appears earlier in this batch", "id")
        event_type = event.type
        rejection = self._type_ok.get(event_type, _UNCHECKED)
        if rejection is _UNCHECKED:
            rejection = self._check_type(event_type)
        if rejection is not None:
            return rejection  # type: ignore[return-value]
        occurred = event.occurred_at_ms
        if occurred is None:
            return Rejection("missing_timestamp: occurred_at is required", "occurred_at")
        if occurred < now_ms - self._max_age_ms:
            return Rejection(
                f"timestamp_too_old: occurred_at is more than {self._max_age_ms // 86_400_000} days in the past",
                "occurred_at",
            )
        if occurred > now_ms + self._max_future_skew_ms:
            return Rejection(
                f"timestamp_in_future: occurred_at is more than {self._max_future_skew_ms // 1000} s in the future",
                "occurred_at",
            )
        max_len = self._max_identifier_length
        user_id, session_id, device_id = event.user_id, event.session_id, event.device_id
        if (
            type(user_id) is not str
            or type(session_id) is not str
            or type(device_id) is not str
            or len(user_id) > max_len
            or len(session_id) > max_len
            or len(device_id) > max_len
        ):
            return self._identifier_rejection(event)

        properties = event.properties
        raw_properties = event.properties_json
        properties_json: bytes | None = None
        if raw_properties:
            if properties:
                return Rejection("invalid_properties: set properties or properties_json, not both", "properties_json")
            if len(raw_properties) > self._max_properties_bytes:
                return self._too_large(len(raw_properties), "properties_json")
            try:
                properties = orjson.loads(raw_properties)
            except orjson.JSONDecodeError as exc:
                return Rejection(f"invalid_properties: properties_json is not JSON: {exc}"[:200], "properties_json")
            if type(properties) is not dict:
                return Rejection("invalid_properties: properties_json must be a JSON object", "properties_json")
            properties_json = raw_properties  # valid JSON (it parsed): embedded as sent
        if properties:
            if type(properties) is not dict:
                return Rejection("invalid_properties: properties must be an object", "properties")
            for name, is_kind, field, message in _REQUIRED.get(event_type, ()):
                value = properties.get(name)
                if value is None:
                    return Rejection(f"missing_property: {event_type} requires properties.{name}", field)
                if not is_kind(value):
                    return Rejection(message, field)
            if properties_json is None:
                try:
                    properties_json = orjson.dumps(properties)
                except (orjson.JSONEncodeError, TypeError) as exc:
                    return Rejection(f"invalid_properties: {exc}", "properties")
                if len(properties_json) > self._max_properties_bytes:
                    return self._too_large(len(properties_json), "properties")
            depth = self._max_properties_depth
            # the usual properties are flat: their JSON has no "{" but the first byte and no "[" (strings may
            # hold some, and then the walk decides); 0x5B is "[" (an int needle is memchr; on Python 3.11 a
            # one-byte bytes needle costs eight times as much)
            flat = type(properties_json) is bytes and properties_json.rfind(b"{") == 0 and 0x5B not in properties_json
            if not (flat and depth >= 1) and _too_deep(properties, depth):
                return Rejection(
                    f"properties_too_deep: properties nest deeper than {depth} levels",
                    "properties",
                )
        else:
            for name, _, field, _message in _REQUIRED.get(event_type, ()):
                return Rejection(f"missing_property: {event_type} requires properties.{name}", field)
            properties_json = _EMPTY_OBJECT

        context_json: bytes | None = None
        context = event.context
        if context:
            memo = self._contexts.get(id(context))
            if memo is not None and memo[0] is context:
                checked = memo[1]
            else:
                checked = self._context_json(context)
                if len(self._contexts) < 1_000:  # the memo keeps the dict alive, so its id stays its own
                    self._contexts[id(context)] = (context, checked)
            if type(checked) is Rejection:
                return checked
            context_json = checked  # type: ignore[assignment]
        seen.add(event_id)
        return orjson.dumps(
            {
                "id": event_id,
                "type": event_type,
                "occurred_at": format_ms(occurred),
                "received_at": received_at,
                "user_id": user_id,
                "session_id": session_id,
                "device_id": device_id,
                "properties": orjson.Fragment(properties_json),
                "context": orjson.Fragment(context_json) if context_json is not None else _NO_CONTEXT,
            }
        )

    def _identifier_rejection(self, event: EventInput) -> Rejection:
        max_len = self.limits.max_identifier_length
        for name in ("user_id", "session_id", "device_id"):
            value = getattr(event, name)
            if type(value) is not str:
                return Rejection(f"invalid_field: {name} must be a string", name)
            if len(value) > max_len:
                return Rejection(f"invalid_field: {name} is longer than {max_len} characters", name)
        raise AssertionError("no identifier is invalid")  # pragma: no cover

    def _too_large(self, size: int, field: str) -> Rejection:
        limit = self._max_properties_bytes
        return Rejection(f"properties_too_large: properties are {size} bytes of JSON; the limit is {limit}", field)

    def _context_json(self, context: dict[str, Any]) -> bytes | Rejection:
        if type(context) is not dict:
            return Rejection("invalid_context: context must be an object", "context")
        for key, value in context.items():
            if key not in _CONTEXT_KEYS:
                return Rejection(f"invalid_context: unknown context field {key[:60]!r}", f"context.{key[:60]}")
            if key == "extra":
                if type(value) is not dict or not all(type(v) is str for v in value.values()):
                    return Rejection("invalid_context: extra must map strings to strings", "context.extra")
            elif type(value) is not str or len(value) > MAX_CONTEXT_VALUE:
                return Rejection(
                    f"invalid_context: {key} must be a string of at most {MAX_CONTEXT_VALUE} characters",
                    f"context.{key}",
                )
        try:
            encoded = orjson.dumps(context)
        except (orjson.JSONEncodeError, TypeError) as exc:
            return Rejection(f"invalid_context: {exc}", "context")
        limit = self.limits.max_context_bytes
        if len(encoded) > limit:
            message = f"invalid_context: context is {len(encoded)} bytes of JSON; the limit is {limit}"
            return Rejection(message, "context")
        return encoded
