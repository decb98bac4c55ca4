"""Shared helpers for operator tests against kmock's emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from barista_operator.rbac import Access, access_of, allowed, parse_rules
from barista_operator.testing import Api


@pytest.fixture
async def api(kmock):
    client = Api(str(kmock.url))
    yield client
    await client.close()


def current(kmock: Any, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
    """The object as the emulator holds it now, or None when absent/deleted."""
    try:
        obj = kmock.objects[resource, namespace, name]
    except KeyError:
        return None
    return None if obj.deleted else dict(obj.raw)


async def eventually(check: Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy (returned) or fail after ``timeout``."""
    last: Any = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                last = check()
                if last:
                    return last
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}") from None


def condition(obj: dict[str, Any] | None, type: str) -> dict[str, Any]:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c["type"] == type:
            return c
    return {}


def cr(kind: str, name: str, spec: dict[str, Any], *, namespace: str | None = None, generation: int = 1) -> dict:
    """A custom resource body; kmock has no uid/generation, so the test sets them as the API server would."""
    metadata: dict[str, Any] = {"name": name, "generation": generation, "uid": f"uid-{kind.lower()}-{name}"}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "barista.dev/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}


def ready(obj: dict[str, Any] | None, generation: int | None = None) -> bool:
    """Ready=True, for ``generation`` when given."""
    status = (obj or {}).get("status") or {}
    if generation is not None and status.get("observedGeneration") != generation:
        return False
    return condition(obj, "Ready").get("status") == "True"


def operator_requests(kmock: Any) -> list[Any]:
    """Requests the operator made (kopf's and its own client's), in order."""
    return [
        r
        for r in list(kmock._requests)
        if str(r.headers.get("User-Agent", "")).startswith(("kopf/", "barista-operator"))
    ]


def settings_from_env(cls: type, env: dict[str, str], **secrets: str) -> Any:
    """Load a component's settings class from ``env`` exactly as the component does at start-up
    (``secrets``: values the pod gets from Secrets, e.g. broker_url="amqp://…")."""
    import os

    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("BARISTA_"):
                mp.delenv(key)
        for key, value in {**env, **{cls.env_name(k): v for k, v in secrets.items()}}.items():
            mp.setenv(key, value)
        return cls()


RULES_FILE = Path(__file__).resolve().parents[2] / "charts" / "barista" / "files" / "operator-rbac-rules.yaml"


def operator_accesses(kmock: Any) -> set[Access]:
    """The (verb, group, resource) of every API request the operator made."""
    out = set()
    for request in operator_requests(kmock):
        access = access_of(str(request.method.value), request.url.path, dict(request.params))
        if access is not None:
            out.add(access)
    return out


@pytest.fixture(autouse=True)
def _operator_stays_within_its_rbac(request: pytest.FixtureRequest):
    """Every test running the operator against kmock also checks its requests against the ClusterRole."""
    kmock = request.getfixturevalue("kmock") if "kmock" in request.fixturenames else None
    yield
    if kmock is None:
        return
    rules = parse_rules(RULES_FILE.read_text())
    denied = sorted(str(a) for a in operator_accesses(kmock) if not allowed(a, rules))
    assert not denied, f"the operator made requests its ClusterRole does not allow: {denied}"
