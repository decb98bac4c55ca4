"""The gRPC ``EventService`` (grpc.aio): a thin adapter over :class:`barista_core.events.EventIngestor`.

- Credentials come from metadata: ``authorization: Bearer <token or API key>`` or ``x-api-key``,
  checked by the shared :class:`~barista_core.auth.verifier.CredentialVerifier`.
- ``Publish`` answers one status per event. The whole call fails only for: bad credentials
  (UNAUTHENTICATED / PERMISSION_DENIED), more than ``max_batch_events`` events (INVALID_ARGUMENT),
  more than ``max_batch_bytes`` (RESOURCE_EXHAUSTED), or a tenant over its events/s limit with
  nothing admitted (RESOURCE_EXHAUSTED, trailing metadata ``retry-after-ms`` and
  ``grpc-retry-pushback-ms``). The message says which limit.
- ``PublishStream`` answers each batch in order with the same response; batches are processed
  concurrently (up to ``stream_window``) and a rate-limited batch is answered with RATE_LIMITED
  statuses rather than ending the stream.
- The standard health service (``grpc.health.v1``) and server reflection run alongside; on shutdown
  health turns NOT_SERVING first, then in-flight calls get ``grace`` seconds to finish.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import NoReturn, Protocol

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from barista_core.auth.verifier import AuthError
from barista_core.broker import BrokerUnavailable
from barista_core.errors import BackendError
from barista_core.events import BatchLimitExceeded, BatchResult, EventIngestor, IngestPrincipal, TenantNotActive
from barista_core.logging import get_logger
from barista_core.proto import events_pb2, events_pb2_grpc
from barista_ingest import metrics
from barista_ingest.convert import events_from_proto, result_to_bytes

log = get_logger(__name__)

SERVICE_NAME = events_pb2.DESCRIPTOR.services_by_name["EventService"].full_name
ERROR_CODE_KEY = "barista-error-code"
RETRY_AFTER_KEY = "retry-after-ms"
PUSHBACK_KEY = "grpc-retry-pushback-ms"


_PUBLISH_SECONDS = metrics.RPC_SECONDS.labels("Publish")
_STREAM_BATCH_SECONDS = metrics.RPC_SECONDS.labels("PublishStream.batch")


class MalformedRequest(Exception):
    """The request bytes are not a ``barista.events.v1.EventBatch`` (INVALID_ARGUMENT)."""


def parse_batch(data: bytes) -> events_pb2.EventBatch:
    """The ``EventBatch`` of ``data``; raises :class:`MalformedRequest` (INVALID_ARGUMENT, instead of grpc's
    generic UNKNOWN with a traceback in the log)."""
    try:
        return events_pb2.EventBatch.FromString(data)
    except DecodeError as exc:
        raise MalformedRequest(f"malformed: the request is not a barista.events.v1.EventBatch ({exc})") from None


def serialize_response(response: bytes | events_pb2.PublishResponse) -> bytes:
    """Handlers answer with bytes already encoded by :func:`~barista_ingest.convert.result_to_bytes`."""
    return response if isinstance(response, bytes) else response.SerializeToString()


def add_event_service(service: EventService, server: grpc.aio.Server) -> None:
    """Register ``service`` like the generated ``add_EventServiceServicer_to_server``, but with requests left
    as bytes (the handlers hand them to the compiled fast path first and parse them only when it declines)
    and :func:`serialize_response`."""
    serialize = serialize_response
    handlers = {
        "Publish": grpc.unary_unary_rpc_method_handler(
            service.Publish, request_deserializer=None, response_serializer=serialize
        ),
        "PublishStream": grpc.stream_stream_rpc_method_handler(
            service.PublishStream, request_deserializer=None, response_serializer=serialize
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)


class Authenticator(Protocol):
    async def authenticate(self, authorization: str | None, api_key: str | None) -> IngestPrincipal: ...


class RateLimited(Exception):
    """Nothing of the batch was admitted (the unary call answers RESOURCE_EXHAUSTED)."""

    def __init__(self, result: BatchResult, tenant: str) -> None:
        self.result = result
        super().__init__(
            f"rate_limited: tenant {tenant} is over its events/s limit; retry after {result.retry_after_ms} ms"
        )


def credentials(context: grpc.aio.ServicerContext) -> tuple[str | None, str | None]:
    authorization = api_key = None
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            authorization = value if isinstance(value, str) else value.decode("latin-1")
        elif key == "x-api-key":
            api_key = value if isinstance(value, str) else value.decode("latin-1")
    return authorization, api_key


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str, list[tuple[str, str]]]:
    """The one mapping from domain errors to gRPC status, message and trailing metadata."""
    if isinstance(exc, AuthError):
        code = grpc.StatusCode.PERMISSION_DENIED if exc.status == 403 else grpc.StatusCode.UNAUTHENTICATED
        return code, f"{exc.code}: {exc.message}", [(ERROR_CODE_KEY, exc.code)]
    if isinstance(exc, BatchLimitExceeded):
        code = grpc.StatusCode.INVALID_ARGUMENT if exc.limit == "events" else grpc.StatusCode.RESOURCE_EXHAUSTED
        return code, f"{exc.code}: {exc}", [(ERROR_CODE_KEY, exc.code)]
    if isinstance(exc, RateLimited):
        retry = str(exc.result.retry_after_ms)
        return (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            str(exc),
            [(ERROR_CODE_KEY, "rate_limited"), (RETRY_AFTER_KEY, retry), (PUSHBACK_KEY, retry)],
        )
    if isinstance(exc, MalformedRequest):
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc), [(ERROR_CODE_KEY, "malformed")]
    if isinstance(exc, TenantNotActive):
        return grpc.StatusCode.PERMISSION_DENIED, f"{exc.code}: {exc}", [(ERROR_CODE_KEY, exc.code)]
    if isinstance(exc, BackendError | BrokerUnavailable):
        return grpc.StatusCode.UNAVAILABLE, f"unavailable: {exc}", [(ERROR_CODE_KEY, "unavailable")]
    return (
        grpc.StatusCode.INTERNAL,
        "internal: the server failed; the batch was not accepted",
        [(ERROR_CODE_KEY, "internal")],
    )


async def abort(context: grpc.aio.ServicerContext, exc: BaseException) -> NoReturn:
    code, message, trailers = status_for(exc)
    if code == grpc.StatusCode.INTERNAL:
        log.exception("unexpected error", exc_info=exc)
    metrics.RPC_ERRORS.labels(code.name).inc()
    await context.abort(code, message, trailing_metadata=tuple(trailers))
    raise AssertionError("context.abort returned")  # pragma: no cover


class EventService(events_pb2_grpc.EventServiceServicer):
    def __init__(self, ingestor: EventIngestor, authenticator: Authenticator, *, stream_window: int = 8) -> None:
        self.ingestor = ingestor
        self.authenticator = authenticator
        self.stream_window = stream_window

    async def _principal(self, context: grpc.aio.ServicerContext) -> IngestPrincipal:
        authorization, api_key = credentials(context)
        return await self.authenticator.authenticate(authorization, api_key)

    async def _ingest(self, principal: IngestPrincipal, data: bytes) -> tuple[BatchResult, str]:
        """The result of one serialised ``EventBatch`` and its batch id: the compiled path when it takes the
        batch, else the request parsed and converted event by event (which decides every rejection)."""
        answered = await self.ingestor.ingest_wire(principal, data, transport="grpc")
        if answered is not None:
            return answered
        batch = parse_batch(data)
        events = batch.events
        self.ingestor.check_batch(len(events), len(data))
        return await self.ingestor.ingest(principal, events_from_proto(events), transport="grpc"), batch.batch_id

    async def Publish(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        started = time.perf_counter()
        try:
            principal = await self._principal(context)
            result, batch_id = await self._ingest(principal, request)
            if result.fully_rate_limited:
                raise RateLimited(result, principal.tenant.name)
        except Exception as exc:
            await abort(context, exc)
        response = result_to_bytes(result, batch_id)
        _PUBLISH_SECONDS.observe(time.perf_counter() - started)
        return response

    async def PublishStream(
        self,
        request_iterator: AsyncIterator[bytes],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[bytes]:
        try:
            principal = await self._principal(context)
        except Exception as exc:
            await abort(context, exc)
        window: asyncio.Queue[asyncio.Task[bytes] | None] = asyncio.Queue(self.stream_window)

        async def answer(request: bytes) -> bytes:
            started = time.perf_counter()
            result, batch_id = await self._ingest(principal, request)
            response = result_to_bytes(result, batch_id)
            _STREAM_BATCH_SECONDS.observe(time.perf_counter() - started)
            return response

        async def read() -> None:
            try:
                async for batch in request_iterator:
                    await window.put(asyncio.create_task(answer(batch)))
            finally:
                await window.put(None)

        reader = asyncio.create_task(read())
        outstanding: list[asyncio.Task[bytes]] = []
        try:
            while True:
                task = await window.get()
                if task is None:
                    break
                outstanding.append(task)
                try:
                    response = await task
                finally:
                    outstanding.remove(task)
                yield response
            await reader  # re-raises a failure of the request stream
        except Exception as exc:
            await abort(context, exc)
        finally:
            reader.cancel()
            while not window.empty():
                leftover = window.get_nowait()
                if leftover is not None:
                    outstanding.append(leftover)
            for task in outstanding:
                task.cancel()


@dataclass
class GrpcServer:
    server: grpc.aio.Server
    port: int
    health: health_aio.HealthServicer

    async def drain(self, grace: float) -> None:
        """Turn health NOT_SERVING, stop taking calls, give in-flight ones ``grace`` seconds."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


async def start_grpc_server(
    service: EventService,
    *,
    host: str = "0.0.0.0",  # noqa: S104 - a server in a pod listens on all interfaces
    port: int = 50051,
    max_concurrent_rpcs: int | None = None,
    max_message_bytes: int = 8 * 1024 * 1024,
    extra_services: Sequence[str] = (),
) -> GrpcServer:
    """Start the server with EventService, health and reflection; ``port=0`` picks a free port."""
    server = grpc.aio.server(
        options=[
            # above the batch limit, so an oversized batch gets our message naming the limit
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.so_reuseport", 1),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ],
        maximum_concurrent_rpcs=max_concurrent_rpcs,
    )
    add_event_service(service, server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME,
         *extra_services),
        server,
    )  # fmt: skip
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind the gRPC server to {host}:{port}")
    await server.start()
    await health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    log.info("gRPC server listening", host=host, port=bound)
    return GrpcServer(server, bound, health)
