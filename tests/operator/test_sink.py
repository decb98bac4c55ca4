"""Sink against kmock's emulator, with its queues in the machine's RabbitMQ (own vhost)."""

from __future__ import annotations

import pytest

from barista_core.backends import open_broker
from barista_core.broker import Message
from barista_core.contracts import SinkerSettings
from barista_core.naming import EVENTS_EXCHANGE
from barista_operator.api import SINK, TENANT
from barista_operator.testing import running_operator, settings_for_tests
from tests.operator.conftest import condition, cr, current, eventually, ready, settings_from_env

pytestmark = pytest.mark.services

DEPLOYMENTS = "apps/v1/deployments"
NS = "tenant-acme"


async def queue_depth(amqp_url: str, queue: str) -> int | None:
    """Messages in ``queue``, or None when it does not exist (a fresh connection per look)."""
    broker = await open_broker(amqp_url)
    try:
        return await broker.queue_depth(queue)
    except Exception:
        return None
    finally:
        await broker.close()


async def publish(amqp_url: str, routing_key: str) -> None:
    broker = await open_broker(amqp_url)
    try:
        await broker.publish(EVENTS_EXCHANGE, [Message(body=b"{}", routing_key=routing_key)])
    finally:
        await broker.close()


def sink(kmock, name="orders"):
    return current(kmock, SINK.resource, NS, name)


async def play_deployment_controller(api, kmock, name: str) -> None:
    """The emulator has no deployment controller: report the Deployment's pods as available."""
    deployment = current(kmock, DEPLOYMENTS, NS, name)
    replicas = deployment["spec"]["replicas"]
    await api.patch(
        DEPLOYMENTS,
        name,
        {"status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}},
        NS,
        "status",
    )


async def test_sink_lifecycle_with_rabbitmq(kmock, api, tmp_path, amqp_url):
    settings = settings_for_tests(broker_url=amqp_url)
    async with running_operator(kmock, tmp_path, settings=settings):
        await api.create(TENANT.resource, cr("Tenant", "acme", {"displayName": "Acme", "plan": "SAAS"}))
        await eventually(lambda: ready(current(kmock, TENANT.resource, None, "acme")))
        await api.create(
            SINK.resource,
            cr(
                "Sink",
                "orders",
                {
                    "eventTypes": ["order.*", "cart.added"],
                    "clickhouse": {"table": "orders"},
                    "replicas": 2,
                    "batch": {"maxEvents": 100},
                },
                namespace=NS,
            ),
        )
        obj = await eventually(lambda: condition(sink(kmock), "DeploymentAvailable") and sink(kmock))
        assert obj["status"]["phase"] == "Provisioning"
        assert condition(obj, "QueueReady")["status"] == "True"
        assert condition(obj, "TenantReady")["status"] == "True"
        assert obj["status"]["queue"] == "sink.acme.orders"
        assert obj["status"]["bindings"] == ["acme.order.*", "acme.cart.added"]

        # the queue and its bindings are real: a matching event lands in it, others do not
        assert await queue_depth(amqp_url, "sink.acme.orders") == 0
        assert await queue_depth(amqp_url, "sink.acme.orders.dead") == 0
        await publish(amqp_url, "acme.order.created")
        await publish(amqp_url, "acme.app.open")
        await publish(amqp_url, "globex.order.created")
        assert await queue_depth(amqp_url, "sink.acme.orders") == 1

        # the sinker: ingest image in sink mode, env the sinker itself accepts, secrets by reference
        deployment = current(kmock, DEPLOYMENTS, NS, "sink-orders")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["sink"] and deployment["spec"]["replicas"] == 2
        env = {e["name"]: e.get("value") for e in container["env"] if "value" in e}
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
        assert env["BARISTA_QUEUE"] == "sink.acme.orders" and env["BARISTA_BATCH_MAX_EVENTS"] == "100"
        assert refs["BARISTA_BROKER_URL"] == {"name": "barista-backends", "key": "broker-url"}
        seen = settings_from_env(SinkerSettings, env, broker_url="amqp://x", clickhouse_url="chdb:///x")
        assert seen.clickhouse_table == "orders" and seen.event_types == ["order.*", "cart.added"]

        await play_deployment_controller(api, kmock, "sink-orders")
        obj = await eventually(lambda: ready(sink(kmock), 1) and sink(kmock))
        assert obj["status"]["phase"] == "Ready" and obj["status"]["readyReplicas"] == 2

        # spec change: patterns follow (removed ones unbound), paused scales the sinker to zero
        await api.patch(
            SINK.resource,
            "orders",
            {"metadata": {"generation": 2}, "spec": {"eventTypes": ["app.*"], "paused": True}},
            NS,
        )
        obj = await eventually(lambda: ready(sink(kmock), 2) and sink(kmock))
        assert obj["status"]["phase"] == "Paused"
        assert obj["status"]["bindings"] == ["acme.app.*"]
        assert current(kmock, DEPLOYMENTS, NS, "sink-orders")["spec"]["replicas"] == 0
        await publish(amqp_url, "acme.order.created")
        await publish(amqp_url, "acme.app.open")
        assert await queue_depth(amqp_url, "sink.acme.orders") == 2  # 1 before + app.open; order.* unbound

        # the sinker Deployment deleted by hand comes back at once (the operator watches its Deployments)
        await api.delete(DEPLOYMENTS, "sink-orders", NS)
        await eventually(lambda: current(kmock, DEPLOYMENTS, NS, "sink-orders"), timeout=10)

        # delete: the finalizer removes both queues
        await api.delete(SINK.resource, "orders", NS)
        await eventually(lambda: sink(kmock) is None)
    assert await queue_depth(amqp_url, "sink.acme.orders") is None
    assert await queue_depth(amqp_url, "sink.acme.orders.dead") is None


async def test_sink_waits_for_its_tenant_and_respects_the_plan(kmock, api, tmp_path):
    async with running_operator(kmock, tmp_path):
        await api.create(SINK.resource, cr("Sink", "early", {"clickhouse": {}}, namespace=NS))
        await api.create(
            SINK.resource,
            cr(
                "Sink",
                "hook",
                {
                    "webhook": {"url": "https://hooks.example/x", "secretRef": {"name": "hmac", "key": "k"}},
                },
                namespace="tenant-cheap",
            ),
        )
        await api.create(SINK.resource, cr("Sink", "stray", {"clickhouse": {}}, namespace="default"))
        obj = await eventually(lambda: condition(sink(kmock, "early"), "TenantReady") and sink(kmock, "early"))
        assert condition(obj, "TenantReady") | {"lastTransitionTime": None} == condition(obj, "TenantReady") | {
            "status": "False",
            "reason": "TenantNotReady",
            "lastTransitionTime": None,
        }
        assert obj["status"]["phase"] == "Pending"
        assert current(kmock, DEPLOYMENTS, NS, "sink-early") is None
        stray = await eventually(
            lambda: (
                (o := current(kmock, SINK.resource, "default", "stray"))
                and o.get("status", {}).get("phase") == "Failed"
                and o
            )
        )
        assert condition(stray, "Ready")["reason"] == "NotATenantNamespace"

        # the tenant appears: the waiting Sink proceeds without any change of its own
        await api.create(TENANT.resource, cr("Tenant", "acme", {"displayName": "Acme", "plan": "SAAS"}))
        await eventually(lambda: current(kmock, DEPLOYMENTS, NS, "sink-early"))
        obj = await eventually(lambda: condition(sink(kmock, "early"), "DeploymentAvailable") and sink(kmock, "early"))
        assert condition(obj, "TenantReady")["status"] == "True"

        # a FREE tenant has no webhooks: the webhook Sink says so and makes nothing
        await api.create(TENANT.resource, cr("Tenant", "cheap", {"displayName": "Cheap", "plan": "FREE"}))
        hook = await eventually(
            lambda: (
                (o := current(kmock, SINK.resource, "tenant-cheap", "hook")) and condition(o, "FeatureEnabled") and o
            )
        )
        assert condition(hook, "FeatureEnabled")["reason"] == "FeatureNotInPlan"
        assert hook["status"]["phase"] == "Failed"
        assert current(kmock, DEPLOYMENTS, "tenant-cheap", "sink-hook") is None

        # suspending the tenant scales its sinkers to zero
        await api.patch(TENANT.resource, "acme", {"metadata": {"generation": 2}, "spec": {"suspended": True}})
        await eventually(lambda: current(kmock, DEPLOYMENTS, NS, "sink-early")["spec"]["replicas"] == 0)
        await eventually(lambda: sink(kmock, "early")["status"]["phase"] == "Paused")
