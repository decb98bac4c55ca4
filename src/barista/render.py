"""``barista render``: the manifests the operator would create for some Barista resources, for review.

Every document is validated first (as ``barista validate`` does); nothing is printed unless all are
valid. The operator's builders produce the output, so it is what the operator applies, except for
what only exists in a cluster: owner references (they need the resources' uids), generated
credentials and the platform's backend URLs (placeholders here). Images, the platform namespace and
network allowances come from the same BARISTA_OPERATOR_* variables the operator reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from barista.validate import iter_files, load_documents
from barista_core.auth.apikeys import ApiKey
from barista_core.errors import BaristaError
from barista_core.naming import tenant_from_namespace
from barista_core.plans import Plan, effective_features, effective_limits
from barista_operator.api import KINDS_BY_NAME
from barista_operator.api.validation import apply_defaults, validate_object
from barista_operator.builders import (
    ResourceContext,
    TenantContext,
    TenantCredentials,
    TenantInfo,
    build_pipeline,
    build_scrapeflow,
    build_sink,
    build_tenant,
    sink_queues,
)
from barista_operator.builders.common import BACKEND_KEYS
from barista_operator.reconcile.runtime import platform_from_settings
from barista_operator.settings import OperatorSettings
from barista_operator.yamlio import dump_yaml

PLACEHOLDER_CREDENTIALS = TenantCredentials(
    api_key=ApiKey(
        key_id="0" * 16,
        secret="generated-in-cluster-by-the-operator",  # noqa: S106 (a placeholder shown instead of a secret)
    ),
    signing_key="generated in the cluster by the operator (EC P-256, PEM)",
)
PLACEHOLDER_BACKENDS = tuple(
    (backend, f"copied-in-cluster-from-BARISTA_OPERATOR_{backend.upper()}_URL") for backend in BACKEND_KEYS
)
HEADER = (
    "# Rendered by `barista render`: what the operator creates for these resources.\n"
    "# In a cluster the operator adds owner references (uids), generates each tenant's credentials and\n"
    "# copies the platform's backend URLs; here those are left out or placeholders.\n"
)


def render_paths(paths: list[Path], *, default_plan: Plan = Plan.SAAS) -> int:
    """Validate and render every document under ``paths``; print YAML to stdout, problems to stderr."""
    documents = []
    problems = 0
    for path in iter_files(paths):
        docs, parse_errors = load_documents(path)
        for error in parse_errors:
            typer.secho(error, err=True, fg=typer.colors.RED)
            problems += 1
        for doc in docs:
            for issue in validate_object(doc.body):
                typer.secho(f"{doc.label}: {issue}", err=True, fg=typer.colors.RED)
                problems += 1
            documents.append(doc)
    if problems:
        typer.secho(
            f"nothing rendered: {problems} problem{'s' if problems != 1 else ''}", err=True, fg=typer.colors.RED
        )
        return 1
    if not documents:
        typer.secho("no documents found", err=True, fg=typer.colors.RED)
        return 1
    try:
        settings = OperatorSettings(disabled_backends=["registry", "clickhouse", "broker"])
    except (BaristaError, ValueError) as exc:
        typer.secho(f"error: BARISTA_OPERATOR_* settings: {exc}", err=True, fg=typer.colors.RED)
        return 2
    platform = platform_from_settings(settings)
    bodies = [_defaulted(doc.body) for doc in documents]
    tenants = {b["metadata"]["name"]: _tenant_info(b) for b in bodies if b["kind"] == "Tenant"}

    chunks: list[str] = [HEADER]
    for doc, body in zip(documents, bodies, strict=True):
        kind = KINDS_BY_NAME[body["kind"]]
        spec = kind.spec_model.model_validate(body["spec"])
        name = body["metadata"]["name"]
        notes = [f"# {doc.label}"]
        try:
            if kind.kind == "Tenant":
                ctx = TenantContext(
                    name=name,
                    uid=None,
                    platform=platform,
                    credentials=PLACEHOLDER_CREDENTIALS,
                    backend_urls=PLACEHOLDER_BACKENDS,
                )
                manifests = build_tenant(spec, ctx)  # type: ignore[arg-type]
            else:
                namespace = body["metadata"].get("namespace") or ""
                tenant_name = tenant_from_namespace(namespace)
                if tenant_name is None:
                    typer.secho(
                        f"{doc.label}: namespace {namespace or '(none)'} is not a tenant namespace (tenant-<name>)",
                        err=True,
                        fg=typer.colors.RED,
                    )
                    return 1
                tenant = tenants.get(tenant_name)
                if tenant is None:
                    tenant = TenantInfo(
                        name=tenant_name,
                        plan=default_plan,
                        features=effective_features(default_plan),
                        retention_days=effective_limits(default_plan).retention_days,
                    )
                    notes.append(f"# Tenant {tenant_name} is not among the inputs: assuming plan {default_plan}")
                rctx = ResourceContext(name=name, namespace=namespace, uid=None, tenant=tenant, platform=platform)
                build = {"Sink": build_sink, "ScrapeFlow": build_scrapeflow, "Pipeline": build_pipeline}[kind.kind]
                manifests = build(spec, rctx)  # type: ignore[operator]
                if kind.kind == "Sink":
                    plan = sink_queues(spec, rctx)  # type: ignore[arg-type]
                    notes.append(
                        f"# broker: queue {plan.queue.name} (dead letters: {plan.dead_letter.name}), "
                        f"bound with {', '.join(plan.bindings)}"
                    )
        except BaristaError as exc:  # the component's settings refuse the values (e.g. a name too long)
            typer.secho(f"{doc.label}: {exc}", err=True, fg=typer.colors.RED)
            return 1
        for index, manifest in enumerate(manifests):
            chunks.append("---\n" + ("\n".join(notes) + "\n" if index == 0 else "") + dump_yaml(manifest))
    typer.echo("".join(chunks), nl=False)
    return 0


def _defaulted(body: dict[str, Any]) -> dict[str, Any]:
    return apply_defaults(KINDS_BY_NAME[body["kind"]], body)


def _tenant_info(body: dict[str, Any]) -> TenantInfo:
    spec = body["spec"]
    plan = Plan(spec["plan"])
    return TenantInfo(
        name=body["metadata"]["name"],
        plan=plan,
        suspended=bool(spec.get("suspended")),
        features=effective_features(plan, spec.get("features")),
        retention_days=effective_limits(plan, spec.get("limits")).retention_days,
    )
