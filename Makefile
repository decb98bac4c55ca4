# Barista: the two commands are `make up` (run the data plane) and `make test` (run every test).
# Everything else here is what those two need, plus benchmarks and code generation.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(HOME)/.local/bin:$(PATH)
UV := $(shell command -v uv 2>/dev/null || echo uv)
RUN := $(UV) run --frozen
PYTEST_ARGS ?=

.PHONY: help
help: ## list targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-18s %s\n", $$1, $$2}'

.PHONY: bootstrap
bootstrap: ## install uv if missing, sync the workspace from uv.lock, fetch helm/kubectl into .tools/
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet
	@scripts/fetch-tools.sh

.PHONY: up
up: bootstrap ## run the whole data plane on embedded backends, with a demo (Ctrl-C stops it)
	$(RUN) barista up

.PHONY: test
test: bootstrap lint chart-check ## run every test (lint, codegen checks, chart checks, unit, integration against local services)
	$(RUN) pytest -n 2 --dist loadgroup --ignore=tests/chart --ignore=tests/dev $(PYTEST_ARGS)

.PHONY: chart-check
chart-check: bootstrap ## chart, images, kind config, Tiltfile: helm lint --strict, strict 1.29/1.37 validation, policy (one process: the renders are shared)
	$(RUN) pytest tests/chart tests/dev

.PHONY: lint
lint: ## ruff, and generated code / CRDs up to date
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) python scripts/gen_protos.py --check
	$(RUN) python scripts/gen_crds.py --check

.PHONY: generate
generate: ## regenerate protobuf code and CRDs from their sources
	$(RUN) python scripts/gen_protos.py
	$(RUN) python scripts/gen_crds.py

.PHONY: clean
clean: ## remove the embedded data directory and caches
	rm -rf .barista .pytest_cache .ruff_cache

.PHONY: bench-ingest
bench-ingest: bootstrap ## ingest vs its raw parts (chdb insert, aio-pika publish, gRPC), side by side; ends with one JSON line
	$(RUN) python scripts/bench_ingest.py $(BENCH_ARGS)

.PHONY: bench-operator
bench-operator: bootstrap ## operator on kmock's emulator: 1,000 Tenants + 1,000 Sinks to Ready vs. a plain client making the same calls; ends with one JSON line
	$(RUN) python scripts/bench_operator.py $(BENCH_ARGS)

.PHONY: bench-gateway
bench-gateway: bootstrap ## gateway vs nginx with wrk (proxy, cache hit, p99 added latency); ends with one JSON line
	@command -v wrk >/dev/null 2>&1 && { command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx; } || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null; } || \
		{ echo "bench-gateway needs wrk and nginx (Debian: apt-get install -y wrk nginx-light)"; exit 2; }
	$(RUN) python scripts/bench_gateway.py $(BENCH_ARGS)

.PHONY: eval-scoring
eval-scoring: bootstrap ## scoring on its synthetic test split: P/R/F1/AUC per script, ablations, calibration, one-core throughput; ends with one JSON line
	$(RUN) python components/scoring/eval/evaluate.py $(EVAL_ARGS)

.PHONY: bench-worker
bench-worker: bootstrap ## worker pool + Redis limiter vs. a raw httpx loop on one local JSON server: req/s and ratio (needs local Redis); ends with one JSON line
	$(RUN) python -m barista_worker.bench $(BENCH_ARGS)

.PHONY: pipelines-demo
pipelines-demo: bootstrap ## leaderboard pipeline in-process on sample events: dbt on chdb → scoring → Postgres (pgserver)
	$(RUN) python -m barista_pipelines demo --data-dir .barista/pipelines-demo
