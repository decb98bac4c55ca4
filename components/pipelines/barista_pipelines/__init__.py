"""Barista pipelines: Pipeline specs → Airflow DAGs, and the step runners those DAGs (or ``barista up``) run.

- ``spec`` / ``plan`` — the operator's rendered DAG spec (``barista.dev/dag-spec/v1``): parsing with
  clear errors, and a topological plan (pure; no Airflow).
- ``sources`` — specs from a directory and/or the operator's ConfigMaps (read-only Kubernetes API).
- ``factory`` / ``dags`` — one Airflow 3 DAG per spec; ``dags`` is the module the chart's DAG file loads.
- ``runners`` — dbt (``dbt build`` on ClickHouse or chdb), score (the scoring component's batch mode),
  sync (ClickHouse → Postgres, atomic replace or upsert): plain functions, no Airflow.
- ``embedded`` / ``demo`` / ``__main__`` — in-process runs: ``barista up``'s service, the standalone demo,
  ``python -m barista_pipelines validate|run|demo``.
"""
