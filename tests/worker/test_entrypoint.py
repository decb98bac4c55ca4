"""``python -m barista_worker``: bad settings are one clear line and exit status 2 (before any backend is
touched); schedules parse as documented."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from barista_core.contracts import WorkerSettings
from barista_core.errors import ConfigError
from barista_worker.__main__ import main
from barista_worker.schedule import CronSchedule
from barista_worker.worker import load_targets

pytestmark = pytest.mark.timeout(60)

#: Unreachable backends: a config error must be reported before anything connects.
GOOD = {
    "BARISTA_TENANT": "acme",
    "BARISTA_FLOW_NAME": "flow",
    "BARISTA_SOURCE": "instagram.profile",
    "BARISTA_TARGETS": '["natgeo"]',
    "BARISTA_INTERVAL_SECONDS": "3600",
    "BARISTA_BROKER_URL": "amqp://guest:guest@127.0.0.1:1/",
    "BARISTA_REDIS_URL": "redis://127.0.0.1:1/0",
}


def run_worker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BARISTA_")}
    return subprocess.run(
        [sys.executable, "-m", "barista_worker", *args],
        env=clean | env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def drop(*names: str) -> dict[str, str]:
    return {k: v for k, v in GOOD.items() if k not in names}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (drop("BARISTA_TENANT", "BARISTA_BROKER_URL"),
         ["BARISTA_TENANT is required but not set", "BARISTA_BROKER_URL is required but not set"]),
        (GOOD | {"BARISTA_SOURCE": "tiktok.profile"}, ["BARISTA_SOURCE is invalid"]),
        (GOOD | {"BARISTA_CONCURRENCY": "0"}, ["BARISTA_CONCURRENCY is invalid", "greater than or equal to 1"]),
        (GOOD | {"BARISTA_SCHEDULE": "0 * * * *"}, ["exactly one of BARISTA_INTERVAL_SECONDS or BARISTA_SCHEDULE"]),
        (drop("BARISTA_INTERVAL_SECONDS") | {"BARISTA_SCHEDULE": "every tuesday"},
         ["BARISTA_SCHEDULE is invalid: 'every tuesday' is not a cron expression"]),
        (drop("BARISTA_TARGETS") | {"BARISTA_TARGETS_FILE": "/nonexistent/targets.txt"},
         ["BARISTA_TARGETS_FILE /nonexistent/targets.txt cannot be read"]),
        (GOOD | {"BARISTA_SOURCE": "youtube.channel"}, ["youtube.channel needs a YouTube Data API key"]),
        (GOOD | {"BARISTA_SOURCE": "http.json",
                 "BARISTA_HTTP_JSON": json.dumps({"urlTemplate": "https://x.example/{target}", "itemsPath": "a[?x]",
                                                  "fields": {"handle": "h"}})},
         ["BARISTA_HTTP_JSON is invalid: JSONPath 'a[?x]'"]),
        (GOOD | {"BARISTA_SOURCE": "http.json"}, ["BARISTA_HTTP_JSON is required for source http.json"]),
        (GOOD | {"BARISTA_INSTAGRAM_BASE_URL": "not a url"}, ["BARISTA_INSTAGRAM_BASE_URL is invalid"]),
    ],
    ids=["missing", "source", "bounds", "both-schedules", "cron", "targets-file", "api-key", "jsonpath", "http-json",
         "base-url"],
)  # fmt: skip
def test_bad_settings_are_one_clear_line(
    env: dict[str, str], expected: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """The entry point's ``main()`` in this process (one case also as a real ``python -m`` below)."""
    for name in [k for k in os.environ if k.startswith("BARISTA_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main([]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("barista-worker: error: ")
    for text in expected:
        assert text in lines[0]
    assert out == ""


def test_python_dash_m_reports_bad_settings_in_one_line():
    result = run_worker(GOOD | {"BARISTA_SOURCE": "youtube.channel"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "barista-worker: error: youtube.channel needs a YouTube Data API key: key 'api-key' in the flow's credentials "
        "Secret (mounted at (BARISTA_CREDENTIALS_DIR is not set))"
    ]
    assert result.stdout == ""


def test_targets_files_skip_comments_and_duplicates_and_must_not_be_empty(tmp_path):
    targets = tmp_path / "targets.txt"
    targets.write_text("# creators\nnatgeo\n\n  nasa  \nnatgeo\n")
    settings = WorkerSettings.model_validate(
        {k.removeprefix("BARISTA_").lower(): v for k, v in drop("BARISTA_TARGETS").items()}
        | {"targets_file": str(targets)}
    )
    assert load_targets(settings) == ["natgeo", "nasa"]
    targets.write_text("# nothing yet\n\n")
    with pytest.raises(ConfigError, match=f"BARISTA_TARGETS_FILE {targets} holds no targets"):
        load_targets(settings)


def test_help_and_stray_arguments(capsys: pytest.CaptureFixture[str]):
    assert main(["--help"]) == 0
    assert main(["serve"]) == 2
    assert "unexpected arguments" in capsys.readouterr().err


def test_unreachable_backends_are_one_line_too():
    result = run_worker(GOOD)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]  # (the AMQP client logs its own attempt before it)
    assert last.startswith("barista-worker: error: amqp://guest:***@127.0.0.1:1/: cannot connect to RabbitMQ")
    assert "Traceback" not in result.stderr


def test_cron_schedules_fire_in_utc():
    weekdays = CronSchedule("0 9 * * MON-FRI")
    saturday = dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC).timestamp()
    assert dt.datetime.fromtimestamp(weekdays.next_after(saturday), dt.UTC) == dt.datetime(
        2026, 11, 30, 9, tzinfo=dt.UTC
    )
    hourly = CronSchedule("@hourly")
    on_the_hour = dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC).timestamp()
    assert hourly.next_after(on_the_hour) == on_the_hour + 3600  # strictly after
    with pytest.raises(ConfigError):
        CronSchedule("61 * * * *")
