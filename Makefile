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
test: bootstrap lint ## run every test (lint, codegen checks, unit, integration against local services)
	$(RUN) pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

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
