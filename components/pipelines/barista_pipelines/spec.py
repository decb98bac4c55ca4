"""The DAG spec the operator renders from a Pipeline (format ``barista.dev/dag-spec/v1``): model and parser.

The operator (``barista_operator.builders.pipeline``) writes it as JSON into a ConfigMap labelled
``barista.dev/dag-spec: "true"`` under the key ``dag-spec.json``::

    {"format": "barista.dev/dag-spec/v1", "dagId": "acme__leaderboards", "tenant": "acme",
     "pipeline": "leaderboards", "namespace": "tenant-acme", "schedule": "0 * * * *", "paused": false,
     "retries": 2, "timeoutMinutes": 60,
     "steps": [{"name": "models", "type": "dbt", "after": [],
                "dbt": {"select": ["tag:leaderboard"], "exclude": [], "fullRefresh": false, "vars": {}}},
               {"name": "score", "type": "score", "after": ["models"], "score": {"since": "24h"}},
               {"name": "publish", "type": "sync", "after": ["score"],
                "sync": {"source": "mart_leaderboards", "target": "leaderboards",
                         "key": ["platform", "dimension", "creator_id"], "mode": "replace"}}]}

Parsing is strict (unknown fields are errors: the format string is the compatibility contract) and
reports every problem at once, each with its JSON path. Pure: no Airflow, no I/O.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

DAG_SPEC_FORMAT = "barista.dev/dag-spec/v1"
#: Key of the spec in the operator's ConfigMap, its label and the content-hash annotation.
DAG_SPEC_KEY = "dag-spec.json"
DAG_SPEC_LABEL = "barista.dev/dag-spec"
CONTENT_HASH_ANNOTATION = "barista.dev/content-hash"

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
#: A SQL identifier Barista accepts for ClickHouse/Postgres tables and columns (as the CRD does).
IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"
SELECTOR = r"^[A-Za-z0-9_.:+*@/,-]+$"
#: Five-field cron or an @-shortcut (the CRD's pattern).
CRON = re.compile(
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|"
    r"([0-9*,/-]+|[A-Za-z]{3}) ([0-9*,/-]+) ([0-9*,/?LW-]+) ([0-9*,/-]+|[A-Za-z]{3}(-[A-Za-z]{3})?) "
    r"([0-9*,/?L#-]+|[A-Za-z]{3}(-[A-Za-z]{3})?))$"
)
_DURATION = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+$")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_STEPS = 50

Identifier = Annotated[str, Field(pattern=IDENTIFIER, max_length=63)]
Selector = Annotated[str, Field(min_length=1, max_length=256, pattern=SELECTOR)]


class SpecError(ValueError):
    """A DAG spec that cannot be turned into a DAG; ``problems`` lists every reason."""

    def __init__(self, problems: list[str], *, source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}invalid DAG spec: " + "; ".join(problems))


def parse_duration(text: str) -> timedelta:
    """A Go-style duration as the CRD accepts it ("90s", "15m", "1h30m") as a timedelta."""
    if not _DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 6h or 1h30m")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text)))


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class DbtStep(_Wire):
    """Run dbt models: ``dbt build --select … --exclude … --vars …`` in the tenant's database."""

    select: list[Selector] = Field(default_factory=list, max_length=20)
    exclude: list[Selector] = Field(default_factory=list, max_length=20)
    full_refresh: bool = False
    vars: dict[str, Any] = Field(default_factory=dict)


class ScoreStep(_Wire):
    """Score followers snapshotted within ``since`` that have no verdict for their newest snapshot."""

    since: str = "24h"

    @model_validator(mode="after")
    def _since(self) -> Self:
        if parse_duration(self.since) < timedelta(minutes=1):
            raise ValueError("since must be at least 1m")
        return self

    @property
    def window(self) -> timedelta:
        return parse_duration(self.since)


class SyncStep(_Wire):
    """Copy a ClickHouse table of the tenant database into a Postgres table of the tenant schema."""

    source: Identifier
    target: Identifier
    key: list[Identifier] = Field(min_length=1, max_length=10)
    mode: Literal["replace", "upsert"] = "replace"

    @model_validator(mode="after")
    def _unique_key(self) -> Self:
        if len(set(self.key)) != len(self.key):
            raise ValueError("key columns must be unique")
        return self


StepType = Literal["dbt", "score", "sync"]


class Step(_Wire):
    """One task: ``type`` names which of ``dbt`` / ``score`` / ``sync`` configures it."""

    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL)
    type: StepType
    after: list[str] = Field(default_factory=list, max_length=MAX_STEPS)
    dbt: DbtStep | None = None
    score: ScoreStep | None = None
    sync: SyncStep | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = [kind for kind in ("dbt", "score", "sync") if getattr(self, kind) is not None]
        if given != [self.type]:
            raise ValueError(f"a {self.type} step needs exactly the {self.type!r} object (has: {given or 'none'})")
        if self.name in self.after:
            raise ValueError("a step cannot run after itself")
        if len(set(self.after)) != len(self.after):
            raise ValueError("after lists a step twice")
        return self

    @property
    def config(self) -> DbtStep | ScoreStep | SyncStep:
        config = getattr(self, self.type)
        assert config is not None
        return config


class DagSpec(_Wire):
    """A rendered Pipeline: everything the DAG factory and the in-process runner need."""

    format: Literal["barista.dev/dag-spec/v1"]
    dag_id: str = Field(max_length=250)
    tenant: str = Field(min_length=1, max_length=56, pattern=DNS_LABEL)
    pipeline: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL)
    namespace: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL)
    schedule: str = Field(max_length=128)
    paused: bool = False
    retries: int = Field(default=2, ge=0, le=10)
    timeout_minutes: int = Field(default=60, ge=1, le=1440)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if not CRON.match(value):
            raise ValueError(f"schedule {value!r} is neither a five-field cron expression nor @hourly/@daily/…")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = []
        if self.dag_id != f"{self.tenant}__{self.pipeline}":
            problems.append(f"dagId must be {self.tenant}__{self.pipeline} (tenant__pipeline), got {self.dag_id!r}")
        names = [step.name for step in self.steps]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"step names must be unique: {', '.join(duplicates)}")
        known = set(names)
        for index, step in enumerate(self.steps):
            unknown = [a for a in step.after if a not in known]
            if unknown:
                problems.append(f"steps[{index}] ({step.name}).after names unknown steps: {', '.join(unknown)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    @property
    def timeout(self) -> timedelta:
        return timedelta(minutes=self.timeout_minutes)


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors():
        path = ""
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "literal_error" and path == "format":
            message = f"unsupported format {error.get('input')!r}; this factory reads {DAG_SPEC_FORMAT!r}"
        elif error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "required"
        for line in message.split("; "):
            out.append(f"{path}: {line}" if path else line)
    return out


def parse_spec(data: str | bytes | dict[str, Any], *, source: str = "") -> DagSpec:
    """Validate a DAG spec (JSON text or decoded) and check it plans (no cycles); raise :class:`SpecError`."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise SpecError([f"not JSON: {exc}"], source=source) from None
    if not isinstance(data, dict):
        raise SpecError([f"expected a JSON object, got {type(data).__name__}"], source=source)
    try:
        spec = DagSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_problems(exc), source=source) from None
    from barista_pipelines.plan import PlanError, plan

    try:
        plan(spec)
    except PlanError as exc:
        raise SpecError([str(exc)], source=source) from None
    return spec


def spec_to_json(spec: DagSpec) -> str:
    """The wire form (camelCase, as the operator writes it)."""
    return spec.model_dump_json(by_alias=True, exclude_none=True, indent=2)
