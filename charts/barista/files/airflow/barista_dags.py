"""Airflow DAG file mounted by the Barista Helm chart.

Barista's DAG factory (the module named by BARISTA_PIPELINES_DAG_MODULE, from the
barista-pipelines package in the image) turns Pipeline specs into DAG objects at import time.
This file hands every DAG the module defines to Airflow's DAG processor.
"""

from __future__ import annotations

import importlib
import os

from airflow.sdk import DAG

_factory = importlib.import_module(os.environ.get("BARISTA_PIPELINES_DAG_MODULE", "barista_pipelines.dags"))

for _name, _value in vars(_factory).items():
    if isinstance(_value, DAG):
        globals()[_name] = _value
