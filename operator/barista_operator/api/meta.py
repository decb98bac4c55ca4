"""Building blocks shared by the four resource types: base model, conditions, common field types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "barista.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "barista"

#: Go-style duration as accepted by CEL's duration(): "90s", "15m", "6h", "1h30m".
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
#: Five-field cron expression or one of the @-shortcuts.
CRON_PATTERN = (
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|"
    r"([0-9*,/-]+|[A-Za-z]{3}) ([0-9*,/-]+) ([0-9*,/?LW-]+) ([0-9*,/-]+|[A-Za-z]{3}(-[A-Za-z]{3})?) "
    r"([0-9*,/?L#-]+|[A-Za-z]{3}(-[A-Za-z]{3})?))$"
)
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
#: A SQL identifier Barista accepts for ClickHouse/Postgres tables and columns.
IDENTIFIER_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"
QUANTITY_PATTERN = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"


class CrdModel(BaseModel):
    """Base of every spec/status type: camelCase on the wire, unknown fields rejected, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=False,
    )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def defaulted(model: type[BaseModel], description: str) -> Any:
    """An optional nested object that the API server defaults to ``{}`` so its inner defaults apply."""
    return Field(default_factory=model, description=description, json_schema_extra={"default": {}})


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(CrdModel):
    """A standard Kubernetes condition (metav1.Condition)."""

    type: Annotated[
        str,
        Field(
            description="Type of condition in CamelCase, e.g. Ready.",
            max_length=316,
            pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        ),
    ]
    status: Annotated[ConditionStatus, Field(description="Status of the condition: True, False or Unknown.")]
    observed_generation: Annotated[
        int | None, Field(default=None, ge=0, description="The .metadata.generation the condition was set for.")
    ]
    last_transition_time: Annotated[
        str,
        Field(
            description="When the condition last changed status (RFC 3339).", json_schema_extra={"format": "date-time"}
        ),
    ]
    reason: Annotated[
        str,
        Field(
            description="Machine-readable CamelCase reason for the last transition.",
            min_length=1,
            max_length=1024,
            pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        ),
    ]
    message: Annotated[
        str, Field(default="", max_length=32768, description="Human-readable details about the last transition.")
    ]


def conditions_field() -> Any:
    return Field(
        default_factory=list,
        max_length=16,
        description="Latest observations of the resource's state: Ready plus one condition per dependency.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )


def kopf_state_field() -> Any:
    """``status.kopf``: the operator framework's bookkeeping (the last handled spec), written in the same
    status patch as the reconcile's status. Not for users."""
    return Field(
        default=None,
        description="Operator bookkeeping (kopf: handler progress and the last handled configuration); not for users.",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )


class SecretKeyRef(CrdModel):
    """A key in a Secret in the resource's namespace."""

    name: Annotated[
        str,
        Field(
            description="Name of the Secret.", min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
        ),
    ]
    key: Annotated[
        str, Field(description="Key within the Secret.", min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")
    ]


class ResourceList(CrdModel):
    """CPU and memory quantities."""

    cpu: Annotated[
        str | None,
        Field(default=None, description="CPU quantity, e.g. 250m or 2.", max_length=32, pattern=QUANTITY_PATTERN),
    ]
    memory: Annotated[
        str | None,
        Field(default=None, description="Memory quantity, e.g. 256Mi.", max_length=32, pattern=QUANTITY_PATTERN),
    ]


class Resources(CrdModel):
    """Compute resources for the pods this resource runs; defaults come from the tenant's plan."""

    requests: Annotated[ResourceList | None, Field(default=None, description="Minimum resources reserved.")]
    limits: Annotated[ResourceList | None, Field(default=None, description="Maximum resources allowed.")]


@dataclass(frozen=True, kw_only=True)
class PrinterColumn:
    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0


@dataclass(frozen=True, kw_only=True, eq=False)
class ResourceKind:
    """Everything the CRD generator and the validator need to know about one kind."""

    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    namespaced: bool
    description: str
    spec_model: type[CrdModel]
    status_model: type[CrdModel]
    printer_columns: tuple[PrinterColumn, ...]
    name_max_length: int
    #: CEL rules on the whole object (the API server allows self.metadata.name here).
    root_rules: tuple[dict[str, str], ...] = field(default=())

    @property
    def resource(self) -> str:
        return f"{GROUP}/{VERSION}/{self.plural}"

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


def name_rule(kind: str, max_length: int) -> dict[str, str]:
    return {
        "rule": f"size(self.metadata.name) <= {max_length} && self.metadata.name.matches('{DNS_LABEL_PATTERN}')",
        "message": f"{kind} names must be DNS labels of at most {max_length} characters "
        "(lower-case letters, digits and '-', starting and ending with a letter or digit)",
        "fieldPath": ".metadata.name",
    }


AGE_COLUMN = PrinterColumn(name="Age", json_path=".metadata.creationTimestamp", type="date")
PHASE_COLUMN = PrinterColumn(name="Phase", json_path=".status.phase", description="Summary of the resource's state")
