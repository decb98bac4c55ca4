"""Reconcilers: build the desired state, bring children and backends to it, compute status.

One module per kind (``tenant``, ``sink``, ``scrapeflow``, ``pipeline``) plus what they share: the API
client's apply/prune (``apply``), pure diffing (``diff``) and status computation (``status``), the
backends outside the cluster (``backends``) and the watch-fed directories (``directory``).
"""

from barista_operator.reconcile.pipeline import reconcile_pipeline
from barista_operator.reconcile.scrapeflow import reconcile_scrapeflow
from barista_operator.reconcile.sink import finalize_sink, reconcile_sink
from barista_operator.reconcile.tenant import finalize_tenant, reconcile_tenant

RECONCILERS = {
    "Tenant": reconcile_tenant,
    "Sink": reconcile_sink,
    "ScrapeFlow": reconcile_scrapeflow,
    "Pipeline": reconcile_pipeline,
}
FINALIZERS = {"Tenant": finalize_tenant, "Sink": finalize_sink}

__all__ = ["FINALIZERS", "RECONCILERS"]
