from __future__ import annotations

import pytest

from barista_core.errors import BackendError
from barista_core.urls import mask_url


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/vh", "amqp://guest:***@127.0.0.1:5672/vh"),
        ("postgresql://u:p%40ss@db.example/x?sslmode=require", "postgresql://u:***@db.example/x?sslmode=require"),
        ("redis://:secret@[::1]:6379/0", "redis://:***@[::1]:6379/0"),
        ("chdb:///var/lib/ch", "chdb:///var/lib/ch"),
        ("redis://localhost", "redis://localhost"),
    ],
)
def test_mask_url(url, masked):
    assert mask_url(url) == masked


def test_backend_error_never_shows_the_password():
    error = BackendError("amqp://u:hunter2@h/", "boom")
    assert "hunter2" not in str(error)
    assert str(error) == "amqp://u:***@h/: boom"
