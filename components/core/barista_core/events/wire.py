"""The compiled fast path: a serialised ``EventBatch`` straight to canonical event JSON.

:func:`encode_batch` hands the request bytes to the C extension ``barista_core.events._wire``, which
parses the protobuf wire format and validates and encodes every event without building a Python
object per field, ``Struct`` properties and ``context.extra`` included. It answers only for batches
whose every event is plainly valid; for anything else (an invalid or duplicate event, strings JSON
must escape, numbers written with an exponent, a map key sent twice, a malformed request, …) it
returns None and the caller takes the Python path — :func:`barista_ingest.convert.events_from_proto`
and :class:`~barista_core.events.EventValidator` — which stays the reference for what is accepted,
what is rejected and why. Whatever the fast path accepts, the Python path accepts with the same bytes
(``tests/core/test_event_wire.py``).

Where the package was installed without a C compiler, :data:`AVAILABLE` is False and every batch
takes the Python path.
"""

from __future__ import annotations

from typing import NamedTuple

from barista_core.events.catalogue import CATALOGUE, MAX_TYPE_LENGTH, PropertyKind
from barista_core.events.model import EventLimits
from barista_core.events.validation import MAX_CONTEXT_VALUE

try:
    from barista_core.events import _wire
except ImportError:  # pragma: no cover - built without a C compiler
    _wire = None  # type: ignore[assignment]

AVAILABLE = _wire is not None
#: ``encode_statuses(statuses) -> bytes``: the repeated ``statuses`` field of a ``PublishResponse`` for a list
#: of :class:`~barista_core.events.EventStatus`, serialised as protobuf would (None without the extension)
encode_statuses = _wire.encode_statuses if _wire is not None else None
#: ``encode_uniform_statuses(ids, code, reason) -> bytes``: the same for one status (id, code, reason) per id of a
#: list of ids, where every event had the same outcome (None without the extension)
encode_uniform_statuses = _wire.encode_uniform_statuses if _wire is not None else None

#: PropertyKind -> the number the C code checks it by
_KIND_CODES: dict[PropertyKind, int] = {
    "string": 0, "number": 1, "integer": 2, "boolean": 3, "object": 4, "array": 5, "any": 6,
}  # fmt: skip
#: type name -> ((property name, kind code), …) of the properties it requires
_REQUIRED = {
    name: tuple((prop.encode(), _KIND_CODES[kind]) for prop, kind in dict(t.required).items())
    for name, t in CATALOGUE.items()
}


class EncodedBatch(NamedTuple):
    """A batch the fast path accepted whole: the ids as sent, the types, each event's canonical JSON, and the
    same JSON grouped by type (types in order of first appearance, events in request order)."""

    batch_id: str
    ids: list[str]
    types: list[str]
    encoded: list[bytes]
    groups: dict[str, list[bytes]]


def encode_batch(data: bytes, limits: EventLimits, *, now_ms: int, received_at: str) -> EncodedBatch | None:
    """Every event of the serialised ``EventBatch`` ``data`` validated and encoded, or None: take the Python path."""
    if _wire is None:
        return None
    bounds = (
        limits.max_age_ms,
        limits.max_future_skew_ms,
        limits.max_identifier_length,
        limits.max_properties_bytes,
        limits.max_context_bytes,
        MAX_CONTEXT_VALUE,
        MAX_TYPE_LENGTH,
        limits.max_properties_depth,
    )
    out = _wire.encode_batch(data, now_ms, received_at, _REQUIRED, bounds)
    return None if out is None else EncodedBatch(*out)
