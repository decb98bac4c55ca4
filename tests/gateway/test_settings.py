"""The gateway's settings contract (rendered by the operator for silo tenants)."""

from __future__ import annotations

import json

import pytest

from barista_core.contracts import GatewaySettings
from barista_core.errors import ConfigError

REQUIRED = {
    "BARISTA_POSTGRES_URL": "postgresql://u:pw@db/barista",
    "BARISTA_REDIS_URL": "redis://:pw@redis:6379/0",
    "BARISTA_CLICKHOUSE_URL": "clickhouse://u:pw@ch:8123/default",
}


def test_environment_round_trip_leaves_secrets_out(monkeypatch):
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BARISTA_TENANT", "acme")
    monkeypatch.setenv("BARISTA_JWT_SIGNING_KEY", "-----BEGIN PRIVATE KEY-----")
    monkeypatch.setenv(
        "BARISTA_ROUTES",
        json.dumps([{"prefix": "/v1/score", "upstream": "http://scoring:8080", "feature": "fakeFollowerScoring"}]),
    )
    settings = GatewaySettings.load()
    assert settings.tenant == "acme"
    assert settings.routes[0].feature.value == "fakeFollowerScoring"
    env = settings.to_env()
    assert not {"BARISTA_POSTGRES_URL", "BARISTA_REDIS_URL", "BARISTA_CLICKHOUSE_URL", "BARISTA_JWT_SIGNING_KEY"} & set(
        env
    )
    assert "pw" not in json.dumps(env)
    assert env["BARISTA_PORT"] == "8080"
    assert json.loads(env["BARISTA_ROUTES"])[0]["prefix"] == "/v1/score"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("BARISTA_TENANT", "Not_A_Tenant", "BARISTA_TENANT is invalid"),
        ("BARISTA_TOKEN_TTL_SECONDS", "5", "BARISTA_TOKEN_TTL_SECONDS is invalid"),
        ("BARISTA_ROUTES", '[{"prefix": "/x", "upstream": "ftp://nope"}]', "BARISTA_ROUTES"),
        ("BARISTA_ROUTES", '[{"prefix": "/x", "upstream": "http://a", "colour": "red"}]', "BARISTA_ROUTES"),
        ("BARISTA_CACHE_DEFAULT_TTL_SECONDS", "7200", "must not exceed BARISTA_CACHE_MAX_TTL_SECONDS"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch, name, value, problem):
    for required, url in REQUIRED.items():
        monkeypatch.setenv(required, url)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=problem):
        GatewaySettings.load()


def test_missing_backend_is_named(monkeypatch):
    for name in REQUIRED:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="BARISTA_POSTGRES_URL is required"):
        GatewaySettings.load()
