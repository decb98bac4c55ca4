from __future__ import annotations

import pytest
from pydantic import Field, SecretStr

from barista_core.contracts import SinkerSettings
from barista_core.errors import ConfigError
from barista_core.settings import BaristaSettings


class ExampleSettings(BaristaSettings):
    port: int = Field(default=8080, ge=1, le=65535)
    database_url: SecretStr
    name: str = "x"


def test_values_come_from_prefixed_environment(monkeypatch):
    monkeypatch.setenv("BARISTA_PORT", "9090")
    monkeypatch.setenv("BARISTA_DATABASE_URL", "postgresql://u:p@h/db")
    settings = ExampleSettings.load()
    assert settings.port == 9090
    assert settings.database_url.get_secret_value() == "postgresql://u:p@h/db"


def test_missing_variable_is_named(monkeypatch):
    monkeypatch.delenv("BARISTA_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="^BARISTA_DATABASE_URL is required but not set$"):
        ExampleSettings.load()


@pytest.mark.parametrize(
    ("value", "reason"),
    [("abc", "valid integer"), ("0", "greater than or equal to 1"), ("70000", "less than or equal to 65535")],
)
def test_malformed_variable_is_named_with_the_bad_value(monkeypatch, value, reason):
    monkeypatch.setenv("BARISTA_DATABASE_URL", "x")
    monkeypatch.setenv("BARISTA_PORT", value)
    with pytest.raises(ConfigError) as info:
        ExampleSettings.load()
    assert str(info.value).startswith("BARISTA_PORT is invalid:")
    assert reason in str(info.value)
    assert repr(value) in str(info.value)


def test_to_env_round_trips_and_leaves_secrets_out(monkeypatch):
    settings = ExampleSettings(database_url="postgresql://u:secret@h/db", port=1234)
    env = settings.to_env()
    assert env == {"BARISTA_PORT": "1234", "BARISTA_NAME": "x"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BARISTA_DATABASE_URL", "postgresql://u:secret@h/db")
    assert ExampleSettings.load() == settings


def test_render_env_validates_like_startup_without_reading_the_environment(monkeypatch):
    monkeypatch.setenv("BARISTA_TENANT", "someone-else")
    env = SinkerSettings.render_env(
        {
            "tenant": "acme",
            "sink_name": "orders",
            "queue": "sink.acme.orders",
            "destination": "webhook",
            "webhook_url": "https://hooks.example/x",
            "batch_max_events": 10,
        },
        secret_fields=["broker_url", "webhook_secret"],
    )
    assert env["BARISTA_TENANT"] == "acme"
    assert env["BARISTA_BATCH_MAX_EVENTS"] == "10"
    assert "BARISTA_BROKER_URL" not in env and "BARISTA_WEBHOOK_SECRET" not in env


def test_render_env_reports_cross_field_rules_in_one_line():
    with pytest.raises(ConfigError, match="BARISTA_WEBHOOK_URL and BARISTA_WEBHOOK_SECRET are required"):
        SinkerSettings.render_env(
            {"tenant": "acme", "sink_name": "s", "queue": "q", "destination": "webhook"}, secret_fields=["broker_url"]
        )
