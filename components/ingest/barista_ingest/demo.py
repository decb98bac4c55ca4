"""Sample events and a client for them: used by ``barista send``, the ``barista up`` demo and the benchmark."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import orjson

from barista_core.events import CATALOGUE
from barista_core.events.catalogue import PropertyKind
from barista_core.proto import events_pb2, events_pb2_grpc

#: Types sent by ``barista send`` unless told otherwise: a small app session and a purchase.
DEFAULT_TYPES = (
    "app.opened",
    "screen.viewed",
    "search.performed",
    "product.viewed",
    "cart.item_added",
    "checkout.started",
    "order.completed",
    "push.opened",
    "creator.followed",
    "profile.snapshot",
)
_PLATFORMS = ("ios", "android", "web")


def _value(name: str, kind: PropertyKind, rng: random.Random) -> Any:
    if kind == "number":
        return round(rng.uniform(1, 5000), 2)
    if kind == "integer":
        return rng.randint(1, 10)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "object":
        return {"value": rng.randint(1, 100)}
    if kind == "array":
        return [rng.randint(1, 100)]
    if name == "currency":
        return rng.choice(("INR", "USD", "EUR"))
    if name == "platform":
        return rng.choice(("instagram", "youtube", "shopify"))
    return f"{name.removesuffix('_id')}-{rng.randint(1, 99_999)}"


def sample_properties(event_type: str, rng: random.Random | None = None) -> dict[str, Any]:
    """Plausible properties for ``event_type``: every required one, plus a couple of extras."""
    rng = rng or random.Random()
    spec = CATALOGUE.get(event_type)
    properties: dict[str, Any] = {}
    if spec is not None:
        properties.update({name: _value(name, kind, rng) for name, kind in spec.required.items()})
    properties["source"] = "barista-send"
    properties["experiment_bucket"] = rng.randint(0, 9)
    return properties


def sample_events(
    count: int,
    *,
    types: Sequence[str] = DEFAULT_TYPES,
    seed: int | None = None,
    json_properties: bool = False,
    now_ms: int | None = None,
) -> list[events_pb2.Event]:
    """``count`` valid events cycling through ``types`` (from a few users and sessions)."""
    rng = random.Random(seed)
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    out = []
    for i in range(count):
        event_type = types[i % len(types)]
        user = rng.randint(1, 50)
        event = events_pb2.Event(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            type=event_type,
            user_id=f"user-{user}",
            session_id=f"session-{user}-{now // 1_800_000}",
            device_id=f"device-{user}",
        )
        event.occurred_at.FromMilliseconds(now - rng.randint(0, 5_000))
        properties = sample_properties(event_type, rng)
        if json_properties:
            event.properties_json = orjson.dumps(properties)
        else:
            event.properties.update(properties)
        event.context.platform = _PLATFORMS[user % 3]
        event.context.app_version = "3.2.1"
        event.context.app_name = "barista send"
        out.append(event)
    return out


@dataclass
class SendReport:
    accepted: int = 0
    rejected: int = 0
    unavailable: int = 0
    rate_limited: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{self.accepted} accepted", f"{self.rejected} rejected"]
        if self.unavailable:
            parts.append(f"{self.unavailable} unavailable")
        if self.rate_limited:
            parts.append(f"{self.rate_limited} rate-limited")
        text = ", ".join(parts)
        if self.reasons:
            text += " (" + ", ".join(f"{k} x{v}" for k, v in sorted(self.reasons.items())) + ")"
        return text


async def send_events(
    target: str, api_key: str, events: Sequence[events_pb2.Event], *, batch_size: int = 500, timeout: float = 30.0
) -> SendReport:
    """Publish ``events`` over gRPC in batches; tally the per-event statuses."""
    report = SendReport()
    code = events_pb2.EventStatus
    async with grpc.aio.insecure_channel(target) as channel:
        stub = events_pb2_grpc.EventServiceStub(channel)
        for start in range(0, len(events), batch_size):
            chunk = events[start : start + batch_size]
            response = await stub.Publish(
                events_pb2.EventBatch(events=chunk, batch_id=f"send-{start // batch_size}"),
                metadata=(("x-api-key", api_key),),
                timeout=timeout,
            )
            for event, status in zip(chunk, response.statuses, strict=True):
                if status.code == code.ACCEPTED:
                    report.accepted += 1
                    report.ids.append(event.id)
                elif status.code == code.REJECTED:
                    report.rejected += 1
                    reason = status.reason.split(":", 1)[0]
                    report.reasons[reason] = report.reasons.get(reason, 0) + 1
                elif status.code == code.UNAVAILABLE:
                    report.unavailable += 1
                else:
                    report.rate_limited += 1
    return report
