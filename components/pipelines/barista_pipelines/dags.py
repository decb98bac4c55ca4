"""The module Airflow's DAG processor imports (through the Helm chart's ``barista_dags.py``).

It builds one DAG per Pipeline spec found now — in ``BARISTA_PIPELINES_SPEC_DIR`` and, in a cluster,
in the operator's ConfigMaps (see :mod:`barista_pipelines.sources`) — and exposes each as a module
global, which is where Airflow (and the chart's DAG file) look for DAG objects. A spec that does not
parse is logged and left out; the others still load. ``SPEC_PROBLEMS`` lists what was left out.
"""

from __future__ import annotations

from barista_pipelines.factory import build_dags
from barista_pipelines.sources import load_specs

_loaded = load_specs()
SPEC_PROBLEMS = [f"{p.source}: {p.message}" for p in _loaded.problems]
DAGS = build_dags(_loaded.specs.values())
globals().update({f"dag__{dag_id}": dag for dag_id, dag in DAGS.items()})
