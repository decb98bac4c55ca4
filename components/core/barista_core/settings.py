"""Settings from the environment (prefix ``BARISTA_``) with one clear error per bad variable.

Every component defines a subclass of :class:`BaristaSettings` in core (``barista_core.contracts``)
so the operator can render its environment without importing the component.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from barista_core.errors import ConfigError

S = TypeVar("S", bound="BaristaSettings")


class BaristaSettings(BaseSettings):
    """Base for all component settings: ``BARISTA_<FIELD>`` environment variables, nested with ``__``."""

    model_config = SettingsConfigDict(
        env_prefix="BARISTA_",
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
        validate_default=True,
    )
    env_prefix: ClassVar[str] = "BARISTA_"

    @classmethod
    def load(cls: type[S], **overrides: Any) -> S:
        """Read settings from the environment; raise :class:`ConfigError` naming the variable on error."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise ConfigError(describe_settings_error(cls, exc)) from None

    @classmethod
    def env_name(cls, field: str) -> str:
        prefix = str(cls.model_config.get("env_prefix", "BARISTA_"))
        return f"{prefix}{field}".upper()

    @classmethod
    def render_env(cls, values: Mapping[str, Any], *, secret_fields: Iterable[str] = ()) -> dict[str, str]:
        """Validate ``values`` as these settings would be at start-up and return their environment.

        ``secret_fields`` are supplied to the pod from Secrets: they are validated as present and left
        out of the result. Raises :class:`ConfigError` when the values would not start the component.
        """
        secrets = set(secret_fields)
        unknown = secrets - set(cls.model_fields)
        if unknown:
            raise ValueError(f"unknown secret fields {sorted(unknown)}")
        try:
            settings = cls.model_validate({**values, **dict.fromkeys(secrets, "supplied-from-secret")})
        except ValidationError as exc:
            raise ConfigError(describe_settings_error(cls, exc)) from None
        return settings.to_env()

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings, secrets (``SecretStr`` fields) left out."""
        env: dict[str, str] = {}
        for name, value in self.model_dump(mode="json").items():
            if value is None or isinstance(getattr(self, name), SecretStr):
                continue
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, list | dict):
                import json

                text = json.dumps(value, separators=(",", ":"))
            else:
                text = str(value)
            env[self.env_name(name)] = text
        return env


def describe_settings_error(cls: type[BaristaSettings], exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        location = [str(part) for part in error["loc"]]
        if not location:  # a rule across fields: its message names the variables
            problems.append(error["msg"].removeprefix("Value error, "))
            continue
        variable = cls.env_name("__".join(location))
        if error["type"] == "missing":
            problems.append(f"{variable} is required but not set")
        else:
            value = error.get("input")
            shown = "" if value is None or isinstance(value, dict) else f" (got {str(value)[:80]!r})"
            problems.append(f"{variable} is invalid: {error['msg']}{shown}")
    return "; ".join(problems)
