"""``POST /v1/events``: the JSON bridge into the same validation and confirmed publish path as gRPC."""

from __future__ import annotations

import math

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from barista_core.events import BatchLimitExceeded, TenantNotActive, events_from_json
from barista_gateway.api.deps import GatewayDep, PrincipalDep
from barista_gateway.api.errors import ApiError
from barista_gateway.models import ErrorResponse, EventsRequest, EventsResponse

router = APIRouter(tags=["events"])


@router.post(
    "/v1/events",
    response_model=EventsResponse,
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": EventsRequest.model_json_schema()}}}},
    responses={413: {"model": ErrorResponse}, 429: {"model": EventsResponse}, 503: {"model": ErrorResponse}},
)
async def publish_events(request: Request, principal: PrincipalDep, gateway: GatewayDep) -> Response:
    """Publish a batch. One status per event, in order: ACCEPTED only once the broker confirmed it."""
    if gateway.ingestor is None:
        raise ApiError(503, "events_unavailable", "this gateway has no broker configured for events")
    limit = gateway.ingestor.limits.max_batch_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "batch_too_large", f"batch is {declared} bytes; the limit is {limit} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise ApiError(413, "batch_too_large", f"batch is over the limit of {limit} bytes")
    try:
        body = orjson.loads(raw)
        events = events_from_json(body.get("events") if isinstance(body, dict) else None)
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise ApiError(400, "invalid_request", f'expected {{"events": [...]}}: {exc}') from None
    try:
        result = await gateway.ingestor.ingest(principal, events, size_bytes=len(raw), transport="http")
    except BatchLimitExceeded as exc:
        raise ApiError(413, exc.code, str(exc)) from None
    except TenantNotActive as exc:
        raise ApiError(403, exc.code, str(exc)) from None
    headers = {"Cache-Control": "no-store"}
    status = 200
    if result.fully_rate_limited:
        status = 429
        headers["Retry-After"] = str(max(1, math.ceil(result.retry_after_ms / 1000)))
    return Response(orjson.dumps(result.to_json()), status_code=status, headers=headers, media_type="application/json")
