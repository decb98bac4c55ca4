"""Errors every component may raise and the CLI turns into one clear line."""

from __future__ import annotations


class BaristaError(Exception):
    """Base class for errors meant to be shown to a user as one line, without a traceback."""


class ConfigError(BaristaError):
    """Configuration is missing or malformed (environment variables, URLs, files)."""


class BackendError(BaristaError):
    """A backend cannot be used: unknown URL scheme, unreachable server, failed handshake."""

    def __init__(self, url: str, reason: str) -> None:
        from barista_core.urls import mask_url

        self.url = mask_url(url)
        self.reason = reason
        super().__init__(f"{self.url}: {reason}")
