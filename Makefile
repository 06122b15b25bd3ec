# Barometer: two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Each area adds its own targets in mk/*.mk (infra, orchestration, web) and appends to
# TEST_PREREQS (things to install before pytest) and TEST_EXTRA (checks run after it).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
TOOLS := .venv-tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON := $(shell command -v $(PYTHON))
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
PYTEST_ARGS ?=
TEST_PREREQS :=
TEST_EXTRA :=
# Every directory that holds Python: `make lint` (CI's lint job) checks them all with ruff's full rule set.
RUFF_TARGETS := barometer lambdas barometer_local barometer_sql infra_cdk platform_assets tests bench deploy

include $(sort $(wildcard mk/*.mk))

.PHONY: help setup demo test test-python up bench lint clean
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==0.13.8

# Bytecode is compiled when installed: with PYTHONDONTWRITEBYTECODE=1 (set on these machines) Python
# never writes it, and every process the platform starts (a Lambda sandbox, the runner) compiled
# botocore and Powertools from source again, ~0.4 s of CPU each (docs/traps.md).
$(VENV)/.synced: $(UV) pyproject.toml uv.lock Makefile
	$(UV) sync --frozen --all-groups --quiet --compile-bytecode
	@touch $@

# The project's own packages too; only files changed since their last compile are compiled again.
setup: $(VENV)/.synced ## create the virtual environment from uv.lock (all groups)
	@$(PY) -m compileall -q -j 0 -x node_modules $(RUFF_TARGETS) > /dev/null

demo: setup ## run the platform's demo on the embedded default (emulator, API, stream, alerts)
	$(PY) -m barometer_local.cli demo

up: setup web ## the local platform and `dagster dev` (UI at 127.0.0.1:3000) until Ctrl-C
	$(PY) -m barometer_local.cli up --dagster

test: setup $(TEST_PREREQS) ## the whole suite (CI runs exactly this)
	$(PY) -m pytest $(PYTEST_ARGS)
	@for target in $(TEST_EXTRA); do $(MAKE) --no-print-directory $$target || exit 1; done

test-python: setup ## only pytest (no infra scanners)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup ## benchmarks; results in bench/results.json
	$(PY) -m bench.run

lint: setup ## ruff over every Python directory (CI's lint job runs this)
	$(VENV)/bin/ruff check $(RUFF_TARGETS)

clean: ## remove local state and build outputs (keeps the virtual environments)
	rm -rf .barometer cdk.out test-artifacts .pytest_cache
