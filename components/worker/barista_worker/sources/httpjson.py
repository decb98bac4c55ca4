"""``http.json``: any JSON API, mapped to snapshots by configuration (the ScrapeFlow's ``spec.http``).

``BARISTA_HTTP_JSON`` holds ``{"urlTemplate": "https://api.example/creators/{target}", "method": "GET",
"headers": {…}, "itemsPath": "data.items[*]", "fields": {"handle": "username", "followers":
"stats.followers", …}}``:

- ``{target}`` in the URL is replaced by the URL-encoded target; ``POST`` sends ``{"target": …}``.
- ``itemsPath`` (:mod:`barista_worker.jsonpath` subset) selects the items; a path ending at a list
  means its elements, at an object that one object. ``$`` is the whole answer.
- ``fields`` maps output property → JSONPath within an item (first match; every match when the path
  has a wildcard). The value ``{target}`` stands for the target itself.
- The snapshot type follows from the mapped fields: ``follower_handle`` → ``follower.snapshot``,
  ``product_id`` → ``product.snapshot``, ``post_id`` → ``post.snapshot``, ``handle`` →
  ``profile.snapshot`` — or is given as ``eventType``. ``platform`` is mapped like any field or given
  as a constant (``"platform": "instagram"`` at the top level; default ``web``).
- Items lacking a required property are skipped (and counted); key values that are numbers become
  strings. Headers may also come from the credentials Secret: a key ``header.<Name>`` is sent as
  ``<Name>``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from barista_core.errors import ConfigError
from barista_core.events import lookup
from barista_worker import metrics
from barista_worker.jsonpath import JsonPath, compile_path
from barista_worker.model import FetchRequest, Parsed, ParseError, Snapshot, SnapshotType
from barista_worker.sources.common import USER_AGENT

TARGET_PLACEHOLDER = "{target}"
#: Which mapped field decides the snapshot type, most specific first.
_TYPE_BY_FIELD: tuple[tuple[str, SnapshotType], ...] = (
    ("follower_handle", "follower.snapshot"),
    ("product_id", "product.snapshot"),
    ("post_id", "post.snapshot"),
    ("handle", "profile.snapshot"),
)
ENV = "BARISTA_HTTP_JSON"


class HttpJsonConfig(BaseModel):
    """The wire form of the ScrapeFlow's ``spec.http`` (camelCase keys)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    url_template: str = Field(pattern=r"^https?://[^\s]+$", max_length=2048)
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    items_path: str = "$"
    fields: dict[str, str] = Field(default_factory=dict)
    event_type: SnapshotType | None = None
    platform: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("url_template")
    @classmethod
    def _has_target(cls, value: str) -> str:
        if TARGET_PLACEHOLDER not in value:
            raise ValueError("urlTemplate must contain {target}")
        return value


def parse_config(raw: Mapping[str, Any]) -> HttpJsonConfig:
    """Validate ``BARISTA_HTTP_JSON``; raises :class:`ConfigError` in one line."""
    try:
        return HttpJsonConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in error['loc']) or 'value'}: {error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        ]
        raise ConfigError(f"{ENV} is invalid: {'; '.join(problems)}") from None


class HttpJsonFlow:
    source = "http.json"

    def __init__(self, config: HttpJsonConfig, *, credentials: Mapping[str, str] | None = None) -> None:
        self.config = config
        try:
            self.items_path = compile_path(config.items_path)
            self.fields: dict[str, JsonPath | None] = {
                name: None if path.strip() == TARGET_PLACEHOLDER else compile_path(path)
                for name, path in config.fields.items()
            }
        except ValueError as exc:
            raise ConfigError(f"{ENV} is invalid: {exc}") from None
        self.event_type = config.event_type or self._infer_type()
        spec = lookup(self.event_type)
        assert spec is not None
        self.required = [name for name in spec.required if name != "platform"]
        missing = [name for name in self.required if name not in self.fields]
        if missing:
            raise ConfigError(f"{ENV} is invalid: {self.event_type} needs fields for {', '.join(missing)}")
        self.headers = {"accept": "application/json", "user-agent": USER_AGENT, **config.headers}
        for key, value in (credentials or {}).items():
            if key.startswith("header."):
                self.headers[key.removeprefix("header.")] = value
        host = urllib.parse.urlsplit(config.url_template).netloc
        self._scope = "http.json" if TARGET_PLACEHOLDER in host else host.lower()

    def _infer_type(self) -> SnapshotType:
        for field, event_type in _TYPE_BY_FIELD:
            if field in self.config.fields:
                return event_type
        raise ConfigError(
            f"{ENV} is invalid: fields must map handle, post_id, product_id or follower_handle "
            "(or set eventType) so the snapshot type is known"
        )

    def limiter_scope(self) -> str:
        return self._scope

    def start(self, target: str) -> Sequence[FetchRequest]:
        url = self.config.url_template.replace(TARGET_PLACEHOLDER, urllib.parse.quote(target.strip(), safe="@"))
        return [
            FetchRequest(
                url=url,
                method=self.config.method,
                headers=self.headers,
                json={"target": target} if self.config.method == "POST" else None,
                state={"target": target},
            )
        ]

    def select_items(self, body: Any) -> list[Any]:
        found = self.items_path.find(body)
        if not found and not self.items_path.exists(body):
            raise ParseError(f"itemsPath {self.config.items_path!r} matched nothing in the answer")
        if self.items_path.is_wildcard or not found:
            return found
        selected = found[0]
        return selected if isinstance(selected, list) else [selected]

    def parse(self, target: str, request: FetchRequest, body: Any) -> Parsed:
        snapshots = []
        for index, item in enumerate(self.select_items(body)):
            properties = self.map_item(target, item)
            if properties is None:
                metrics.ITEMS_SKIPPED.labels(self.source, "missing_required").inc()
                continue
            key = "/".join(str(properties[name]) for name in self.required) or f"{target}/{index}"
            snapshots.append(Snapshot(self.event_type, key, properties))
        return Parsed(snapshots=snapshots)

    def map_item(self, target: str, item: Any) -> dict[str, Any] | None:
        """The item's properties, or None when a required one is missing."""
        properties: dict[str, Any] = {}
        if self.config.platform is not None:
            properties["platform"] = self.config.platform
        for name, path in self.fields.items():
            if path is None:
                value: Any = target
            elif path.is_wildcard:
                value = path.find(item)
            else:
                value = path.first(item)
            if value is not None:
                properties[name] = value
        properties.setdefault("platform", "web")
        for name in ("platform", *self.required):
            value = properties.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = properties[name] = str(value)
            if not isinstance(value, str) or not value.strip():
                return None
        return properties
