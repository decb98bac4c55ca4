"""The operator runs against kmock's emulator, sees each kind and reports status truthfully."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from barista_operator.api import PIPELINE, SINK, TENANT
from barista_operator.testing import Api, running_operator


async def wait_for_status(kmock: Any, key: tuple[str, str | None, str], predicate, timeout: float = 15.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            try:
                status = kmock.objects[key].get("status", {})
            except KeyError:
                status = {}
            if predicate(status):
                return status
            await asyncio.sleep(0.05)


@pytest.fixture
async def api(kmock):
    client = Api(str(kmock.url))
    yield client
    await client.close()


async def test_valid_tenant_is_accepted_with_observed_generation(kmock, api, tmp_path):
    async with running_operator(kmock, tmp_path):
        await api.create(
            TENANT.resource,
            {
                "apiVersion": "barista.dev/v1alpha1",
                "kind": "Tenant",
                "metadata": {"name": "acme", "generation": 3},
                "spec": {"displayName": "Acme", "plan": "SAAS"},
            },
        )
        status = await wait_for_status(kmock, (TENANT.resource, None, "acme"), lambda s: "conditions" in s)
    assert status["observedGeneration"] == 3
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "Unknown"
    assert ready["observedGeneration"] == 3


async def test_invalid_resources_get_a_false_ready_condition_naming_the_field(kmock, api, tmp_path):
    async with running_operator(kmock, tmp_path):
        await api.create(
            TENANT.resource,
            {
                "apiVersion": "barista.dev/v1alpha1",
                "kind": "Tenant",
                "metadata": {"name": "cheap", "generation": 1},
                "spec": {"displayName": "Cheap", "plan": "FREE", "tenancy": "silo"},
            },
        )
        await api.create(
            SINK.resource,
            {
                "apiVersion": "barista.dev/v1alpha1",
                "kind": "Sink",
                "metadata": {"name": "both", "namespace": "tenant-acme", "generation": 1},
                "spec": {
                    "clickhouse": {},
                    "webhook": {"url": "https://x.example", "secretRef": {"name": "s", "key": "k"}},
                },
            },
        )
        await api.create(
            PIPELINE.resource,
            {
                "apiVersion": "barista.dev/v1alpha1",
                "kind": "Pipeline",
                "metadata": {"name": "loop", "namespace": "tenant-acme", "generation": 1},
                "spec": {
                    "schedule": "@daily",
                    "steps": [{"name": "a", "after": ["b"], "score": {}}, {"name": "b", "after": ["a"], "score": {}}],
                },
            },
        )
        failed = lambda s: s.get("phase") == "Failed"  # noqa: E731
        tenant = await wait_for_status(kmock, (TENANT.resource, None, "cheap"), failed)
        sink = await wait_for_status(kmock, (SINK.resource, "tenant-acme", "both"), failed)
        pipeline = await wait_for_status(kmock, (PIPELINE.resource, "tenant-acme", "loop"), failed)

    def ready(status: dict) -> dict:
        return next(c for c in status["conditions"] if c["type"] == "Ready")

    assert ready(tenant)["reason"] == "InvalidSpec"
    assert "spec.tenancy: silo tenancy requires plan PAID" in ready(tenant)["message"]
    assert "exactly one of clickhouse or webhook" in ready(sink)["message"]
    assert "cycle" in ready(pipeline)["message"]
