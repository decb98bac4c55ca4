"""Who may send and how much: credentials from metadata, suspended tenants, the per-tenant events/s limit,
and the standard health and reflection services."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from barista_core import registry
from barista_core.auth.apikeys import generate_api_key
from barista_core.auth.tokens import TokenIssuer
from barista_core.broker import QueueSpec
from barista_core.events import message_events
from barista_core.naming import EVENTS_EXCHANGE
from barista_core.plans import Plan
from barista_core.proto import events_pb2
from tests.ingest.conftest import World, event

pytestmark = [pytest.mark.services, pytest.mark.asyncio(loop_scope="module")]


async def _refused(world: World, metadata: tuple[tuple[str, str], ...]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await world.stub.Publish(events_pb2.EventBatch(events=[event()]), metadata=metadata, timeout=10)
    return info.value


def _code_of(error: grpc.aio.AioRpcError) -> str:
    return dict(error.trailing_metadata() or ()).get("barista-error-code", "")


async def test_bad_credentials_are_refused_before_anything_is_published(world: World) -> None:
    tenant = await world.tenant()
    other_key = generate_api_key()  # well-formed but never registered
    cases = {
        (): (grpc.StatusCode.UNAUTHENTICATED, "missing_credentials"),
        (("x-api-key", other_key.token),): (grpc.StatusCode.UNAUTHENTICATED, "unknown_key"),
        (("x-api-key", tenant.key.token[:-2] + "xx"),): (grpc.StatusCode.UNAUTHENTICATED, "unknown_key"),
        (("authorization", "Basic abc"),): (grpc.StatusCode.UNAUTHENTICATED, "malformed"),
        (("authorization", "Bearer not.a.jwt"),): (grpc.StatusCode.UNAUTHENTICATED, "malformed"),
    }
    for metadata, (status, code) in cases.items():
        error = await _refused(world, metadata)
        assert (error.code(), _code_of(error)) == (status, code), metadata

    accepted = await world.stub.Publish(
        events_pb2.EventBatch(events=[event()]), metadata=(("authorization", f"Bearer {tenant.key.token}"),)
    )
    assert accepted.accepted == 1


async def test_suspended_and_revoked_tenants_are_refused(world: World) -> None:
    suspended = await world.tenant()
    await registry.set_tenant_state(world.pool, suspended.name, "suspended")
    revoked = await world.tenant()
    await registry.revoke_api_key(world.pool, revoked.key.key_id)

    error = await _refused(world, suspended.metadata)
    assert (error.code(), _code_of(error)) == (grpc.StatusCode.PERMISSION_DENIED, "tenant_suspended")
    error = await _refused(world, revoked.metadata)
    assert (error.code(), _code_of(error)) == (grpc.StatusCode.UNAUTHENTICATED, "revoked")


async def test_suspension_reaches_a_running_server_through_the_registry(world: World) -> None:
    tenant = await world.tenant()
    assert (await world.publish(tenant, [event()])).accepted == 1  # now cached as active
    await registry.set_tenant_state(world.pool, tenant.name, "suspended")  # NOTIFY → invalidation bus
    deadline = asyncio.get_running_loop().time() + 5
    refusal: grpc.aio.AioRpcError | None = None
    while refusal is None:
        try:
            await world.publish(tenant, [event()])
        except grpc.aio.AioRpcError as error:
            refusal = error
            break
        assert asyncio.get_running_loop().time() < deadline, "still accepted 5 s after suspension"
        await asyncio.sleep(0.05)
    assert _code_of(refusal) == "tenant_suspended"


@pytest.mark.parametrize("json_properties", [True, False], ids=["compiled path", "python path"])
async def test_events_per_second_limit_admits_the_budget_then_answers_resource_exhausted(
    world: World, json_properties: bool
) -> None:
    tenant = await world.tenant(Plan.FREE, events_per_second=4)  # FREE allows 50/s; this one 4 (a token per 250 ms)
    queue = f"check-{tenant.name}"
    world.queues.add(queue)
    await world.broker.declare_queue(QueueSpec(name=queue))
    await world.broker.bind_queue(queue, EVENTS_EXCHANGE, f"{tenant.name}.#")
    sent = [event(json_properties=json_properties) for _ in range(10)]
    first = await world.publish(tenant, sent)
    codes = [s.code for s in first.statuses]
    assert codes == [events_pb2.EventStatus.ACCEPTED] * 4 + [events_pb2.EventStatus.RATE_LIMITED] * 6
    assert first.retry_after_ms >= 1000  # six more events need 1.5 s of budget
    assert first.statuses[6].reason == f"rate_limited: tenant {tenant.name} may send 4 events/s"
    # what was published is what was answered ACCEPTED: the first four, not the batch
    published: list[str] = []
    async with world.broker.consume(queue) as deliveries:
        async for delivery in deliveries:
            published += [e["id"] for e in message_events(delivery.message)]
            await delivery.ack()
            if len(published) >= 4:
                break
    await asyncio.sleep(0.2)
    assert sorted(published) == sorted(e.id for e in sent[:4])
    assert await world.broker.queue_depth(queue) == 0

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await world.publish(tenant, [event() for _ in range(10)])
    trailers = dict(info.value.trailing_metadata() or ())
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert trailers["barista-error-code"] == "rate_limited"
    assert 0 < int(trailers["retry-after-ms"]) <= 1000
    assert trailers["grpc-retry-pushback-ms"] == trailers["retry-after-ms"]
    assert "events/s" in info.value.details()


async def test_health_and_reflection_services(world: World) -> None:
    health = health_pb2_grpc.HealthStub(world.channel)
    for service in ("", "barista.events.v1.EventService"):
        answer = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING

    reflection = reflection_pb2_grpc.ServerReflectionStub(world.channel)

    async def ask():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    services = [r async for r in reflection.ServerReflectionInfo(ask())]
    names = {s.name for s in services[0].list_services_response.service}
    assert {"barista.events.v1.EventService", "grpc.health.v1.Health"} <= names


async def test_a_tenant_token_in_the_authorization_header_is_accepted_until_its_session_is_revoked(
    world: World,
) -> None:
    tenant = await world.tenant()
    issuer = TokenIssuer(postgres=world.pool, redis=world.redis, prefix=world.prefix, bus=world.verifier.bus, ttl=600)
    await issuer.start()
    try:
        issued = await issuer.issue(tenant=tenant.name, key_id=tenant.key.key_id)
        bearer = (("authorization", f"Bearer {issued.token}"),)
        answer = await world.stub.Publish(events_pb2.EventBatch(events=[event()]), metadata=bearer, timeout=10)
        assert answer.accepted == 1

        await issuer.revoke(issued.session_id)  # logout: every replica hears it on the invalidation bus
        deadline = asyncio.get_running_loop().time() + 5
        refusal: grpc.aio.AioRpcError | None = None
        while refusal is None:
            try:
                await world.stub.Publish(events_pb2.EventBatch(events=[event()]), metadata=bearer, timeout=10)
            except grpc.aio.AioRpcError as error:
                refusal = error
                break
            assert asyncio.get_running_loop().time() < deadline, "the revoked token is still accepted"
            await asyncio.sleep(0.05)
        assert (refusal.code(), _code_of(refusal)) == (grpc.StatusCode.UNAUTHENTICATED, "revoked")
    finally:
        await issuer.close()
