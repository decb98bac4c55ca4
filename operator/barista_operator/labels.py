"""Label and annotation keys the operator writes and reads, in one place.

Standard ``app.kubernetes.io/*`` labels describe every child; ``barista.dev/*`` labels tie a child to
its tenant and to the resource that owns it (the operator selects children by these for pruning and
for routing Deployment events back to their owner).
"""

from __future__ import annotations

from barista_operator.api import GROUP

# ---- standard labels ---------------------------------------------------------------------------------
NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"
PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"

PART_OF_VALUE = "barista"
MANAGED_BY_VALUE = "barista-operator"

# ---- Barista labels ----------------------------------------------------------------------------------
TENANT = f"{GROUP}/tenant"
PLAN = f"{GROUP}/plan"
OWNER_KIND = f"{GROUP}/owner-kind"
OWNER_NAME = f"{GROUP}/owner-name"
#: Marks ConfigMaps holding a rendered DAG spec for the Airflow DAG factory.
DAG_SPEC = f"{GROUP}/dag-spec"

# ---- annotations -------------------------------------------------------------------------------------
#: sha256 of the manifest the operator last applied (without this annotation): a changed desired state
#: shows up as a different hash even where a plain subset comparison would not see it.
APPLIED_HASH = f"{GROUP}/applied-hash"
#: sha256 of a Pipeline's rendered DAG spec, for the DAG factory to skip unchanged specs.
CONTENT_HASH = f"{GROUP}/content-hash"
#: Pod-template annotation: hash of a ScrapeFlow's inline targets, so a change rolls the workers.
TARGETS_HASH = f"{GROUP}/targets-hash"
#: The public id of the API key stored in a tenant's credentials Secret (never the secret itself).
API_KEY_ID = f"{GROUP}/api-key-id"

# ---- pod security admission on tenant namespaces ------------------------------------------------------
POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce"
POD_SECURITY_WARN = "pod-security.kubernetes.io/warn"
POD_SECURITY_LEVEL = "restricted"

#: Set by Kubernetes on every namespace (>= 1.21); NetworkPolicies select namespaces by it.
NAMESPACE_NAME = "kubernetes.io/metadata.name"


def owner_selector(kind: str, name: str) -> dict[str, str]:
    """Labels selecting every child the operator made for the resource ``kind``/``name``."""
    return {MANAGED_BY: MANAGED_BY_VALUE, OWNER_KIND: kind.lower(), OWNER_NAME: name}
